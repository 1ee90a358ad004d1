using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Adapters;
using FedTune.Core.Formats;
using FedTune.Core.SecureAggregation;
using FedTune.Core.Storage;
using FedTune.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// Secure aggregation through the whole main job: real agents publish keys, share their secrets encrypted to each other
/// and upload masked updates; the orchestrator relays, unmasks only the sum, and the global adapter equals the plain
/// run's (same seed) to fixed-point precision. Nothing the cloud stores (blobs, the Durable Task hub's tables, queues
/// and large-message blobs) is or decodes to one hospital's update, while the same scan finds every update of the plain run.
/// Run alone: it retrains the hospitals' updates in this process, and another test training here at the same time
/// would draw from the same torch RNG (dropout) and change them.
/// </summary>
[Collection(WholeMachineTests.Name)]
public sealed class SimulationWithSecureAggregationTests(PlainAndSecureRuns runs, ITestOutputHelper output) : IClassFixture<PlainAndSecureRuns>
{
    [Fact]
    public async Task A_securely_aggregated_run_reports_it_and_ends_at_the_plain_runs_global_adapter()
    {
        runs.ShowLog(output);
        var (plain, secure) = (runs.PlainReport, runs.SecureReport);
        Assert.True(plain.Outcome == RunOutcome.Completed, $"plain: {plain.FailureMessage}");
        Assert.True(secure.Outcome == RunOutcome.Completed, $"secure: {secure.FailureMessage}");
        Assert.All(secure.Rounds, r =>
        {
            var facts = r.SecureAggregation ?? throw new InvalidOperationException($"round {r.Round} was not securely aggregated");
            Assert.Equal(3, facts.Survivors.Count);
            Assert.Equal(2, facts.Threshold);
        });
        Assert.All(plain.Rounds, r => Assert.Null(r.SecureAggregation));
        var markdown = await File.ReadAllTextAsync(Path.Combine(runs.Secure.RunDirectory, ReportFolder.ReportFile));
        Assert.Contains("Secure aggregation (pairwise masking", markdown, StringComparison.Ordinal);

        // Masked uploads are 8-byte ring elements per value (plus the weight), twice the fp32 adapter.
        var plainUp = plain.Rounds[0].Hospitals.Sum(h => h.BytesUp);
        var secureUp = secure.Rounds[0].Hospitals.Sum(h => h.BytesUp);
        Assert.InRange(secureUp, 1.8 * plainUp, 2.2 * plainUp);

        // Same seed, same training: the unmasked mean equals plain FedAvg up to the fixed-point step (2^-24 per value and hospital);
        // round 2 trains from that round-1 global, so allow for the difference to grow a little through two more steps.
        using var expected = SafetensorsReader.Open(Path.Combine(runs.Plain.RunDirectory, "global-adapter", "adapter_model.safetensors"));
        using var actual = SafetensorsReader.Open(Path.Combine(runs.Secure.RunDirectory, "global-adapter", "adapter_model.safetensors"));
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name));
        foreach (var tensor in expected.Tensors)
        {
            var e = expected.ReadFloat32(tensor.Name);
            var a = actual.ReadFloat32(tensor.Name);
            var worst = e.Zip(a, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(worst < 1e-5, $"{tensor.Name}: largest difference {worst} from the plain run");
        }
    }

    [Fact]
    public async Task Nothing_the_cloud_stores_is_or_decodes_to_one_hospitals_update_and_the_masked_uploads_look_uniform()
    {
        runs.ShowLog(output);
        var plain = await ReadBothSidesAsync(runs.Plain, "plain");
        var secure = await ReadBothSidesAsync(runs.Secure, "secure");
        Assert.Equal(6, plain.Clear.Count); // 3 hospitals x 2 rounds, each trained again on the hospital's side

        // The hospital-side training is the agents' own, bit for bit: each plain upload is the fp32 wire file trained here.
        // And the scan can see a leak: in the plain run it finds every hospital's update.
        foreach (var update in plain.Clear)
        {
            Assert.Contains(plain.Stored, item => item.Bytes.AsSpan().SequenceEqual(update.Fp32Wire));
            var found = plain.Stored.Select(item => (item.Where, How: Find(item, update))).Where(f => f.How is not null).ToList();
            Assert.True(found.Count > 0, $"the scan did not find {update.Name} in the plain run's storage");
            output.WriteLine($"plain run: {update.Name} found in {found.Count} stored items, e.g. {found[0].Where}: {found[0].How}");
        }

        // With secure aggregation, no blob, table entity or queue message is, contains or decodes to any hospital's update.
        Assert.NotEmpty(secure.Clear);
        foreach (var update in secure.Clear)
        {
            foreach (var item in secure.Stored)
            {
                var how = Find(item, update);
                Assert.True(how is null, $"{item.Where} {how}: the orchestrator's storage holds {update.Name} in clear");
            }
        }

        Assert.Equal(6, secure.Clear.Count);

        // What the orchestrator read of each hospital is one masked upload per round, uniform in Z/2^64, while the same
        // update's encoding without masks is not.
        var masked = secure.Stored.Select(item => (item.Where, Values: ClearUpdateDetector.MaskedValues(item.Bytes))).Where(m => m.Values is not null).ToList();
        Assert.Equal(6, masked.Count);
        foreach (var (where, values) in masked)
        {
            var p = RingUniformity.PValue(values!);
            output.WriteLine($"secure run: masked upload {where}: {values!.Length} ring elements, chi-square uniformity p = {p:G3}");
            Assert.True(p > 1e-6, $"{where} is not uniform (p = {p:G3})");
        }

        Assert.All(secure.Clear, update => Assert.True(RingUniformity.PValue(update.FixedPoint) < 1e-12, $"{update.Name} unmasked passes as uniform"));

        // The clear updates are the ones the hospitals masked: their weighted mean is the round's global adapter (to fixed-point precision).
        foreach (var round in secure.Clear.GroupBy(u => u.Round))
        {
            var global = MaskedUpdateWire.Flatten(AdapterWireFormat.Read(File.OpenRead(SimulationRunner.RoundAdapterFile(new RunFolder(runs.Secure.RunDirectory).RoundAdaptersDirectory, round.Key)), "global"));
            var total = round.Sum(u => u.Weight);
            var worst = Enumerable.Range(0, global.Length).Max(i => Math.Abs(round.Sum(u => u.Weight * u.Values[i]) / total - global[i]));
            var nearest = round.Min(u => Enumerable.Range(0, global.Length).Max(i => Math.Abs(u.Values[i] - global[i])));
            output.WriteLine($"secure run round {round.Key}: the hospitals' mean is {worst:G3} from the global adapter; the nearest single update is {nearest:G3} from it");
            Assert.True(worst < 1e-5, $"round {round.Key}: the hospital-side updates average to {worst} from the global adapter");
        }
    }

    private static string? Find(StoredItem item, ClearUpdate update) =>
        ClearUpdateDetector.Readings(item.Bytes).Select(reading => ClearUpdateDetector.Find(reading, update)).FirstOrDefault(how => how is not null);

    /// <summary>Every item in the run's storage (its Azurite started again on the run's data) and each hospital's updates trained again hospital-side.</summary>
    private async Task<(IReadOnlyList<StoredItem> Stored, IReadOnlyList<ClearUpdate> Clear)> ReadBothSidesAsync(TinySimulation run, string label)
    {
        using var azurite = await AzuriteProcess.StartAsync(new RunFolder(run.RunDirectory).AzuriteDirectory);
        var stored = await StoredRunContents.ReadAllAsync(azurite.ConnectionString);
        output.WriteLine($"{label} run: {stored.Count} stored items: " + string.Join(", ", stored.GroupBy(s => string.Join(' ', s.Where.Split(' ', 3)[..2]).Split('/')[0])
            .Select(g => $"{g.Key} ({g.Count()})")));
        var clear = await HospitalSideTraining.ReproduceAsync(azurite.ConnectionString, run.RunDirectory, runs.ModelFolder(run), run.ScratchFolder("hospital-side"));
        return (stored, clear);
    }
}

/// <summary>The plain and the securely aggregated run of one federation (3 hospitals, 2 rounds, same seed), run once for the class.</summary>
public sealed class PlainAndSecureRuns : IAsyncLifetime
{
    private const string Config = """
        lora:
          peft_lora_r: 4
          peft_lora_alpha: 8
        train:
          seq_length: 256
          training_arguments:
            learning_rate: 0.01
            per_device_train_batch_size: 4
            max_steps: 2
        federation:
          rounds: 2
          min_fit_clients: 3
          min_available_clients: 3

        """;

    private readonly LineLog _log = new();
    private readonly Dictionary<TinySimulation, string> _models = [];

    internal TinySimulation Plain { get; } = new("fedtune-sim-plain");
    internal TinySimulation Secure { get; } = new("fedtune-sim-secagg");
    internal RunReport PlainReport { get; private set; } = null!;
    internal RunReport SecureReport { get; private set; } = null!;

    internal string ModelFolder(TinySimulation run) => _models[run];

    public async Task InitializeAsync()
    {
        var overrides = new SimulationOverrides { Hospitals = 3, EvalExamples = 8, RecordsPerHospital = 12, Seed = 11 };
        var plain = Plain.Options(Config, overrides);
        _models[Plain] = plain.ModelPath!;
        PlainReport = await TinySimulation.RunAsync(plain, _log);
        var secure = Secure.Options(Config + """
              secure_aggregation:
                enabled: true
                threshold: 2
            """, overrides);
        _models[Secure] = secure.ModelPath!;
        SecureReport = await TinySimulation.RunAsync(secure, _log);
    }

    /// <summary>Writes the two runs' status lines to the test's output.</summary>
    internal void ShowLog(ITestOutputHelper output)
    {
        foreach (var line in _log.Lines) output.WriteLine(line);
    }

    public Task DisposeAsync()
    {
        Plain.Dispose();
        Secure.Dispose();
        return Task.CompletedTask;
    }

    private sealed class LineLog : ITestOutputHelper
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines) return [.. _lines];
            }
        }

        public void WriteLine(string message)
        {
            lock (_lines) _lines.Add(message);
        }

        public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }
}
