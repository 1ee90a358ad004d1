using FedTune.Cli.Simulation;
using TorchSharp;
using Azure.Storage.Blobs;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Data;
using FedTune.ClientAgent.Engine;
using FedTune.Core.Adapters;
using FedTune.Core.Protocol;
using FedTune.Core.SecureAggregation;
using FedTune.Training.Tokenization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// One hospital's update of one round in clear, as only the hospital holds it: the adapter its agent trained, the
/// fixed-point vector it masks (weight × values, then the weight) and the fp32 wire file a plain run uploads.
/// </summary>
internal sealed record ClearUpdate(string HospitalId, int Round, float[] Values, double Weight, ulong[] FixedPoint, byte[] Fp32Wire)
{
    public string Name => $"{HospitalId}'s round-{Round} update";
}

/// <summary>
/// The hospitals' side of a finished simulation, redone in this process: for every round task in the run's storage,
/// the agent's own trainer (<see cref="TorchRoundTrainer"/>) with the options <c>AgentFleet</c> gives the agent (the
/// hospital's shard, the model, CPU), from the task's global adapter, with fresh checkpoints. Training is seeded by the
/// task, so this is the update the agent trained before it masked it.
/// </summary>
internal static class HospitalSideTraining
{
    public static async Task<IReadOnlyList<ClearUpdate>> ReproduceAsync(string connectionString, string runDirectory, string modelFolder, string workFolder)
    {
        var blobs = new BlobServiceClient(connectionString);
        var tasks = new List<(string Container, RoundTask Task)>();
        await foreach (var container in blobs.GetBlobContainersAsync(prefix: BlobLayout.HospitalContainerPrefix))
        {
            var client = blobs.GetBlobContainerClient(container.Name);
            await foreach (var item in client.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = BlobLayout.RunsPrefix }))
            {
                if (!item.Name.EndsWith("/" + BlobLayout.TaskFileName, StringComparison.Ordinal)) continue;
                var bytes = (await client.GetBlobClient(item.Name).DownloadContentAsync()).Value.Content.ToArray();
                tasks.Add((container.Name, ProtocolJson.Deserialize<RoundTask>(bytes, item.Name)));
            }
        }

        int agents = tasks.Select(t => t.Task.HospitalId).Distinct(StringComparer.Ordinal).Count();
        var updates = new List<ClearUpdate>();
        foreach (var (container, task) in tasks)
            updates.Add(await TrainAsync(blobs, task, runDirectory, modelFolder, Path.Combine(workFolder, container, $"round-{task.Round}-attempt-{task.Attempt}"), agents));
        return updates;
    }

    private static async Task<ClearUpdate> TrainAsync(BlobServiceClient blobs, RoundTask task, string runDirectory, string modelFolder, string folder, int agents)
    {
        Directory.CreateDirectory(folder);
        var globalFile = Path.Combine(folder, "global.bin");
        await blobs.GetBlobContainerClient(task.GlobalAdapter.Blob.Container).GetBlobClient(task.GlobalAdapter.Blob.Name).DownloadToAsync(globalFile);
        var shard = Path.Combine(runDirectory, "data", task.HospitalId);
        var options = new AgentOptions
        {
            HospitalId = task.HospitalId,
            ModelPath = modelFolder,
            ModelName = task.Recipe.BaseModel,
            Device = DeviceChoice.Cpu,
            Data = new DataOptions { Paths = [Path.Combine(shard, "train.jsonl"), Path.Combine(shard, "heldout.jsonl")], MaxEvalExamples = 0 },
        };
        var trainer = new TorchRoundTrainer(Options.Create(options), HuggingFaceTokenizer.Load, NullLogger<TorchRoundTrainer>.Instance);
        var trainedFile = Path.Combine(folder, "trained.bin");
        // The agent trained with the intra-op threads AgentFleet gives each agent, and matmul kernels may sum in another
        // order with another thread count: train with as many here, set on this thread (libtorch sets MKL's per thread).
        int threads = torch.get_num_threads();
        torch.set_num_threads(AgentFleet.ThreadsPerAgent(agents));
        RoundTrainingOutcome outcome;
        try
        {
            outcome = trainer.Train(new RoundTrainingRequest(task, globalFile, HospitalDataLoader.Load(options.Data),
                Path.Combine(folder, "checkpoints"), trainedFile, null), CancellationToken.None);
        }
        finally
        {
            torch.set_num_threads(threads);
        }

        var wire = await File.ReadAllBytesAsync(trainedFile);
        var values = MaskedUpdateWire.Flatten(AdapterWireFormat.Read(new MemoryStream(wire), trainedFile));
        var secure = task.SecureAggregation;
        // The weight the agent encodes before masking (SecureAggregationParticipant): its example count, capped, or 1 (DP).
        var weight = secure is { UniformWeights: true } ? 1.0 : Math.Min(outcome.ExampleCount, secure?.WeightCap ?? double.PositiveInfinity);
        return new ClearUpdate(task.HospitalId, task.Round, values, weight, FixedPointEncoding.EncodeWeighted(values, weight), wire);
    }
}
