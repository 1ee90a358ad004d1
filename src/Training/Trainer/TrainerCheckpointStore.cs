using System.Globalization;
using System.Text.Json;
using static TorchSharp.torch;

namespace FedTune.Training.Trainer;

/// <summary>
/// Local checkpoints in a work folder: <c>checkpoint-STEP/</c> holding <c>adapter.bin</c> (adapter parameters),
/// <c>optimizer.bin</c> (AdamW moments), <c>rng.bin</c> (torch's CPU generator state) and <c>trainer_state.json</c>.
/// A checkpoint is written into <c>checkpoint-STEP.tmp</c> and renamed when complete, so a kill mid-write leaves the
/// previous checkpoint as the latest. Older checkpoints beyond <c>save_total_limit</c> are removed.
/// </summary>
public sealed class TrainerCheckpointStore(string directory)
{
    private const string Prefix = "checkpoint-";

    public string Directory { get; } = directory ?? throw new ArgumentNullException(nameof(directory));

    /// <summary>Completed checkpoints, oldest first.</summary>
    public IReadOnlyList<(int Step, string Path)> List()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        return System.IO.Directory.GetDirectories(Directory, Prefix + "*")
            .Select(path => (Name: System.IO.Path.GetFileName(path), Path: path))
            .Where(x => int.TryParse(x.Name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _)
                        && File.Exists(System.IO.Path.Combine(x.Path, "trainer_state.json")))
            .Select(x => (int.Parse(x.Name.AsSpan(Prefix.Length), CultureInfo.InvariantCulture), x.Path))
            .OrderBy(x => x.Item1)
            .ToList();
    }

    public void Save(
        TrainerCheckpointState state,
        IEnumerable<KeyValuePair<string, Tensor>> adapter,
        IEnumerable<KeyValuePair<string, Tensor>> optimizer,
        Tensor rngState,
        int? saveTotalLimit)
    {
        ArgumentNullException.ThrowIfNull(state);
        System.IO.Directory.CreateDirectory(Directory);
        var final = System.IO.Path.Combine(Directory, Prefix + state.Step.ToString(CultureInfo.InvariantCulture));
        var temporary = final + ".tmp";
        if (System.IO.Directory.Exists(temporary))
        {
            System.IO.Directory.Delete(temporary, recursive: true);
        }

        System.IO.Directory.CreateDirectory(temporary);
        NamedTensorFile.Write(System.IO.Path.Combine(temporary, "adapter.bin"), adapter);
        NamedTensorFile.Write(System.IO.Path.Combine(temporary, "optimizer.bin"), optimizer);
        NamedTensorFile.Write(System.IO.Path.Combine(temporary, "rng.bin"), [KeyValuePair.Create("cpu", rngState)]);
        File.WriteAllText(System.IO.Path.Combine(temporary, "trainer_state.json"), JsonSerializer.Serialize(state, Json));
        if (System.IO.Directory.Exists(final))
        {
            System.IO.Directory.Delete(final, recursive: true);
        }

        System.IO.Directory.Move(temporary, final);

        if (saveTotalLimit is { } limit)
        {
            var all = List();
            foreach (var (_, path) in all.Take(Math.Max(0, all.Count - limit)))
            {
                System.IO.Directory.Delete(path, recursive: true);
            }
        }
    }

    /// <summary>The latest completed checkpoint, or null when there is none. The caller disposes the tensors.</summary>
    public LoadedCheckpoint? LoadLatest()
    {
        var all = List();
        if (all.Count == 0)
        {
            return null;
        }

        var path = all[^1].Path;
        try
        {
            var state = JsonSerializer.Deserialize<TrainerCheckpointState>(File.ReadAllText(System.IO.Path.Combine(path, "trainer_state.json")), Json)
                        ?? throw new InvalidDataException("trainer_state.json is empty.");
            var rng = NamedTensorFile.Read(System.IO.Path.Combine(path, "rng.bin"));
            return new LoadedCheckpoint(
                path,
                state,
                NamedTensorFile.Read(System.IO.Path.Combine(path, "adapter.bin")),
                NamedTensorFile.Read(System.IO.Path.Combine(path, "optimizer.bin")),
                rng["cpu"]);
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidDataException or EndOfStreamException)
        {
            throw new InvalidDataException(
                $"The checkpoint '{path}' cannot be read ({e.Message}): delete that folder to resume from the one before, or the work folder to start fresh.", e);
        }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
}

/// <summary>A checkpoint read back onto the CPU.</summary>
public sealed class LoadedCheckpoint(
    string path,
    TrainerCheckpointState state,
    Dictionary<string, Tensor> adapter,
    Dictionary<string, Tensor> optimizer,
    Tensor rngState) : IDisposable
{
    public string Path { get; } = path;

    public TrainerCheckpointState State { get; } = state;

    public IReadOnlyDictionary<string, Tensor> Adapter { get; } = adapter;

    public IReadOnlyDictionary<string, Tensor> Optimizer { get; } = optimizer;

    public Tensor RngState { get; } = rngState;

    public void Dispose()
    {
        foreach (var tensor in Adapter.Values.Concat(Optimizer.Values))
        {
            tensor.Dispose();
        }

        RngState.Dispose();
    }
}
