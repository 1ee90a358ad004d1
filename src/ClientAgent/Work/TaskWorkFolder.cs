using System.Text.Json;
using System.Text.Json.Serialization;

namespace FedTune.ClientAgent.Work;

/// <summary>
/// One task's local folder: <c>state.json</c>, the downloaded global adapter, the trainer's checkpoints and the trained
/// adapter. Every file is written to a temporary name and renamed into place, so a kill never leaves a half-written
/// file under a final name.
/// </summary>
public sealed class TaskWorkFolder
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public TaskWorkFolder(string path)
    {
        Path = path;
        Directory.CreateDirectory(path);
    }

    public string Path { get; }

    public string StateFile => System.IO.Path.Combine(Path, "state.json");

    public string GlobalAdapterFile => System.IO.Path.Combine(Path, "global-adapter.bin");

    public string GlobalAdapterPartialFile => GlobalAdapterFile + ".partial";

    public string CheckpointFolder => System.IO.Path.Combine(Path, "checkpoints");

    public string TrainedAdapterFile => System.IO.Path.Combine(Path, "trained-adapter.bin");

    /// <summary>The folder of a task under the agent's work path: tasks/&lt;run&gt;/&lt;round folder&gt;.</summary>
    public static TaskWorkFolder For(string workPath, string roundFolder)
    {
        ArgumentNullException.ThrowIfNull(roundFolder);
        var segments = roundFolder.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return new TaskWorkFolder(System.IO.Path.Combine([workPath, "tasks", .. segments]));
    }

    public TaskWorkState? ReadState()
    {
        if (!File.Exists(StateFile)) return null;
        try
        {
            return JsonSerializer.Deserialize<TaskWorkState>(File.ReadAllBytes(StateFile), Json);
        }
        catch (JsonException)
        {
            // Written atomically, so this only happens if someone edited it: start the task over.
            return null;
        }
    }

    public void WriteState(TaskWorkState state) => WriteAtomic(StateFile, JsonSerializer.SerializeToUtf8Bytes(state, Json));

    /// <summary>Writes <paramref name="bytes"/> to a temporary file, flushes it to disk and renames it over <paramref name="path"/>.</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> bytes)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Deletes the large files once the task is complete (state.json stays as the record of what happened).</summary>
    public void DeleteBulkyFiles()
    {
        foreach (var file in new[] { GlobalAdapterFile, GlobalAdapterPartialFile, TrainedAdapterFile })
        {
            if (File.Exists(file)) File.Delete(file);
        }

        if (Directory.Exists(CheckpointFolder)) Directory.Delete(CheckpointFolder, recursive: true);
    }
}
