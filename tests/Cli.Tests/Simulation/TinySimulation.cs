using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.TestSupport;
using Xunit.Abstractions;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// What the simulation end-to-end tests share: a temp folder with the tiny byte-level model and a seed YAML of the
/// test's own, the real medical records, and a run of the real <see cref="SimulationRunner"/> (real Azurite, the local
/// Durable orchestrator, real agent processes) whose status lines go to the test output.
/// </summary>
internal sealed class TinySimulation(string name) : IDisposable
{
    private readonly TempDirectory _temp = new(name);

    /// <summary>The run's report folder.</summary>
    public string RunDirectory => _temp.File("run");

    /// <summary>A folder of this test's own beside the run (created).</summary>
    public string ScratchFolder(string name) => Directory.CreateDirectory(_temp.File(name)).FullName;

    /// <summary>The dataset and model sections every test config starts with.</summary>
    public const string DatasetAndModel = """
        dataset:
          name: medalpaca/medical_meadow_wikidoc_patient_information
        model:
          name: tiny-byte-neox

        """;

    /// <summary>Two hospitals, two rounds of two steps, r 4, 256 tokens: the smallest federation whose runs can be compared.</summary>
    public const string TwoHospitalsTwoRounds = """
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
          min_fit_clients: 2
          min_available_clients: 2
        """;

    /// <summary>
    /// Options for a run of <see cref="DatasetAndModel"/> followed by <paramref name="yaml"/> (lora:, train:,
    /// federation: at the top level) with the tiny model, the real records and this run folder;
    /// <paramref name="overrides"/> supplies the rest (hospitals, record counts, audit, ...).
    /// </summary>
    public SimulationOptions Options(string yaml, SimulationOverrides overrides)
    {
        var config = _temp.File("config.yaml");
        File.WriteAllText(config, DatasetAndModel + yaml);
        return SimulationOptionsBinder.Bind(overrides with
        {
            ConfigPath = config,
            ModelPath = TinyByteModel.Create(_temp.Path),
            DataPath = TestPaths.RequireMedicalMeadowFile(),
            OutputDirectory = RunDirectory,
            RoundDeadline = overrides.RoundDeadline ?? TimeSpan.FromMinutes(4),
        }) with { BaselineCache = new BaselineCache(_temp.File("baseline-cache")) }; // never the user's: each test trains its own
    }

    /// <summary>Runs the simulation; every status line goes to <paramref name="output"/> and then to <paramref name="onStatus"/>.</summary>
    public static Task<RunReport> RunAsync(SimulationOptions options, ITestOutputHelper output, Action<string>? onStatus = null)
    {
        var status = new SimulationStatus();
        status.Changed += line =>
        {
            output.WriteLine(line);
            onStatus?.Invoke(line);
        };
        return new SimulationRunner(options, status, status.Say).RunAsync(CancellationToken.None);
    }

    public void Dispose() => _temp.Dispose();
}
