using System.Text.Json;

namespace FedTune.ClientAgent.Work;

/// <summary>
/// The agent's work folder: an exclusive lock file (two agent processes can never share one work folder) and the
/// instance id that names this agent's blob leases, kept across restarts so a restarted agent takes its own lease back.
/// </summary>
public sealed class AgentWorkspace : IDisposable
{
    private readonly FileStream _lock;

    private AgentWorkspace(string path, FileStream lockFile, Guid instanceId)
    {
        Path = path;
        _lock = lockFile;
        InstanceId = instanceId;
    }

    public string Path { get; }

    public Guid InstanceId { get; }

    public string StatusFile => System.IO.Path.Combine(Path, "status.json");

    public TaskWorkFolder TaskFolder(string roundFolder) => TaskWorkFolder.For(Path, roundFolder);

    /// <summary>Opens (creating) the work folder and locks it; a clear error when another agent process holds it.</summary>
    public static AgentWorkspace Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"Cannot create the work folder '{full}': {e.Message} Fix: set WorkPath to a folder the service user may write.", e);
        }

        FileStream lockFile;
        try
        {
            lockFile = new FileStream(System.IO.Path.Combine(full, "agent.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(AgentLockOwner.DescribeHolder(full), e);
        }
        AgentLockOwner.Record(full);

        var idFile = System.IO.Path.Combine(full, "instance.json");
        Guid id;
        if (File.Exists(idFile) && JsonDocument.Parse(File.ReadAllBytes(idFile)).RootElement.TryGetProperty("instanceId", out var value) &&
            value.TryGetGuid(out var stored))
        {
            id = stored;
        }
        else
        {
            id = Guid.NewGuid();
            TaskWorkFolder.WriteAtomic(idFile, JsonSerializer.SerializeToUtf8Bytes(new { instanceId = id }));
        }

        return new AgentWorkspace(full, lockFile, id);
    }

    public void Dispose() => _lock.Dispose();
}
