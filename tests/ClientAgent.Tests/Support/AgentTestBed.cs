using System.Text.Json;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Engine;
using FedTune.ClientAgent.Execution;
using FedTune.ClientAgent.Status;
using FedTune.ClientAgent.Tasks;
using FedTune.ClientAgent.Work;
using FedTune.Core.Configuration;
using FedTune.Core.Protocol;
using FedTune.TestSupport;
using FedTune.Training.Data;
using Microsoft.Extensions.Options;

namespace FedTune.ClientAgent.Tests.Support;

/// <summary>
/// One hospital on the test's private Azurite: its own container, a private data file whose every record carries
/// a unique marker (so a privacy check can search blobs for record text), the tiny model, and helpers that play
/// the orchestrator's side of the blob protocol (write a task, publish a global adapter).
/// </summary>
public sealed class AgentTestBed : IDisposable
{
    public const string RecordMarker = "PRIVATE-RECORD-";

    private readonly TempDirectory _dir = new("agent-bed");

    public AgentTestBed(AzuriteFixture azurite, int records = 24)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        ConnectionString = azurite.ConnectionString;
        Store = BlobStore.FromConnectionString(ConnectionString);
        HospitalId = "h-" + Guid.NewGuid().ToString("N")[..12];
        RunId = "run-" + Guid.NewGuid().ToString("N")[..8];
        DataFile = _dir.File("private.jsonl");
        WriteRecords(DataFile, records);
    }

    public string ConnectionString { get; }
    public BlobStore Store { get; }
    public string HospitalId { get; }
    public string RunId { get; }
    public string DataFile { get; }
    public string Root => _dir.Path;

    public string Container => BlobLayout.HospitalContainer(HospitalId);

    /// <summary>Record text markers written to the private file (every one must stay on the hospital's machine).</summary>
    public List<string> Markers { get; } = [];

    public void WriteRecords(string file, int count)
    {
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var marker = $"{RecordMarker}{Guid.NewGuid():N}";
            Markers.Add(marker);
            lines.Add(JsonSerializer.Serialize(new
            {
                instruction = $"What does note {marker} say about fever?",
                input = "",
                output = $"Patient {marker} should rest and drink fluids.",
            }));
        }

        File.WriteAllLines(file, lines);
    }

    public AgentOptions Options(string workName = "work") => new()
    {
        HospitalId = HospitalId,
        Storage = new StorageOptions { Mode = CredentialMode.ConnectionString, ConnectionString = ConnectionString },
        Data = new DataOptions { Paths = [DataFile], HeldOutFraction = 0.25 },
        ModelPath = TinyModel.Folder,
        Device = DeviceChoice.Cpu,
        WorkPath = Path.Combine(Root, workName),
        Polling = new PollingOptions { MinInterval = TimeSpan.FromMilliseconds(200), MaxInterval = TimeSpan.FromSeconds(1) },
        Lease = new LeaseOptions { Duration = TimeSpan.FromSeconds(15), RenewInterval = TimeSpan.FromSeconds(3) },
        Upload = new RetryOptions { MaxAttempts = 3, FirstDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1) },
        Evaluation = new EvaluationOptions { BatchSize = 4 },
    };

    /// <summary>The agent's command-line arguments for <paramref name="options"/> (what a service unit or a test process passes).</summary>
    public static List<string> CommandLine(AgentOptions options) => [.. AgentCommandLine.From(options)];

    /// <summary>The tests' recipe: a few steps on the tiny model, checkpointing and reporting after every step.</summary>
    public static TrainingRecipe Recipe(int maxSteps = 2, string baseModel = TinyModel.Name) => new()
    {
        BaseModel = baseModel,
        LearningRate = 1e-3,
        MaxSteps = maxSteps,
        BatchSize = 2,
        SeqLength = 64,
        Lora = new LoraConfig { R = 4, Alpha = 8, Dropout = 0 },
        LoggingSteps = 1,
        SaveSteps = 1,
        SaveTotalLimit = 2,
    };

    /// <summary>Publishes the tiny model's initial adapter in the global container, as the orchestrator does for round 0.</summary>
    public async Task<ContentRef> PublishGlobalAdapterAsync(byte[]? wireBytes = null)
    {
        wireBytes ??= TinyModel.InitialAdapterWireBytes();
        return await Store.UploadContentAddressedAsync(wireBytes, sha => BlobLayout.GlobalAdapter(RunId, 0, sha));
    }

    /// <summary>
    /// Writes a round task into the hospital's container exactly where the orchestrator would; without a global adapter,
    /// the tiny model's round-0 adapter is published first, as the orchestrator does.
    /// </summary>
    public async Task<RoundTask> WriteTaskAsync(int round, ContentRef? globalAdapter, TimeSpan? deadlineIn = null,
        string baseModel = TinyModel.Name, TrainingRecipe? recipe = null, long? seed = null)
    {
        // Round 0 as the orchestrator makes it: from the task's recipe (its LoRA shape), else the tiny model's default.
        globalAdapter ??= await PublishGlobalAdapterAsync(recipe is null ? null : TinyModel.InitialAdapterWireBytes(recipe with { BaseModel = baseModel }));
        var now = DateTimeOffset.UtcNow;
        var task = new RoundTask
        {
            RunId = RunId,
            Round = round,
            TotalRounds = 2,
            HospitalId = HospitalId,
            GlobalAdapter = globalAdapter,
            Recipe = (recipe ?? Recipe()) with { BaseModel = baseModel },
            LearningRate = (recipe ?? Recipe()).LearningRate,
            DeadlineUtc = now + (deadlineIn ?? TimeSpan.FromMinutes(10)),
            IssuedUtc = now,
            Seed = seed ?? 4242 + round,
            Container = Container,
            UpdateFolder = BlobLayout.UpdateFolder(RunId, round),
            ManifestBlob = BlobLayout.UpdateManifest(RunId, round, HospitalId).Name,
            FailedMarkerBlob = BlobLayout.FailedTaskMarker(RunId, round, HospitalId).Name,
        };
        Assert.True(await Store.TryCreateJsonAsync(BlobLayout.RoundTask(RunId, round, HospitalId), task));
        return task;
    }

    public async Task<PendingTask> SingleOpenTaskAsync()
    {
        var open = await new TaskScanner(Store, HospitalId).FindOpenTasksAsync(CancellationToken.None);
        return Assert.Single(open);
    }

    public Task<UpdateManifest?> ManifestAsync(int round) =>
        Store.TryReadJsonAsync<UpdateManifest>(BlobLayout.UpdateManifest(RunId, round, HospitalId));

    public Task<FailedTaskMarker?> MarkerAsync(int round) =>
        Store.TryReadJsonAsync<FailedTaskMarker>(BlobLayout.FailedTaskMarker(RunId, round, HospitalId));

    /// <summary>Every blob in the hospital's container with its bytes.</summary>
    public async Task<List<(string Name, byte[] Bytes)>> HospitalBlobsAsync()
    {
        var blobs = new List<(string, byte[])>();
        await foreach (var name in Store.ListNamesAsync(Container, ""))
        {
            blobs.Add((name, (await Store.TryReadAllBytesAsync(new BlobRef(Container, name)))!));
        }

        return blobs;
    }

    /// <summary>
    /// A runner as the agent's worker builds it, with the real training engine; with <paramref name="models"/> it takes the
    /// base model from that cache (as the agent's host does), else it loads the model for every task.
    /// </summary>
    public (RoundTaskRunner Runner, AgentWorkspace Workspace, AgentStatusBoard Status, ListLogger<RoundTaskRunner> Log) Runner(AgentOptions options,
        BaseModelCache? models = null)
    {
        var workspace = AgentWorkspace.Open(options.WorkPath);
        var status = new AgentStatusBoard(options.HospitalId);
        var log = new ListLogger<RoundTaskRunner>();
        var settings = Microsoft.Extensions.Options.Options.Create(options);
        var trainer = models is null
            ? new TorchRoundTrainer(settings, FedTune.Training.Tokenization.HuggingFaceTokenizer.Load, new ListLogger<TorchRoundTrainer>())
            : new TorchRoundTrainer(settings, FedTune.Training.Tokenization.HuggingFaceTokenizer.Load, models, new ListLogger<TorchRoundTrainer>());
        return (new RoundTaskRunner(Store, options, workspace, trainer, status, TimeProvider.System, log), workspace, status, log);
    }

    /// <summary>Runs the one open task once with a fresh runner for <paramref name="options"/> (default <see cref="Options"/>), as the agent's worker does.</summary>
    public async Task<(TaskOutcome Outcome, AgentStatusBoard Status, ListLogger<RoundTaskRunner> Log)> RunOpenTaskAsync(AgentOptions? options = null,
        BaseModelCache? models = null)
    {
        var pending = await SingleOpenTaskAsync();
        var (runner, workspace, status, log) = Runner(options ?? Options(), models);
        using (workspace)
        {
            return (await runner.RunAsync(pending, CancellationToken.None), status, log);
        }
    }

    public void Dispose() => _dir.Dispose();
}
