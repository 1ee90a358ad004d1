using System.Text.Json;
using FedTune.ClientAgent.Work;

namespace FedTune.ClientAgent.Status;

/// <summary>
/// The agent's live status: <see cref="Current"/> for in-process observers (a progress display polls it or listens to
/// <see cref="Changed"/>), and a <c>status.json</c> in the work folder for out-of-process ones
/// (read it with <see cref="ReadFile"/>).
/// </summary>
public sealed class AgentStatusBoard
{
    private readonly Lock _gate = new();
    private AgentStatus _current;
    private string? _statusFile;

    public AgentStatusBoard(string hospitalId) => _current = new AgentStatus { HospitalId = hospitalId, UpdatedUtc = DateTimeOffset.UtcNow };

    public AgentStatus Current
    {
        get
        {
            lock (_gate) return _current;
        }
    }

    /// <summary>Raised (on the agent's thread) after every change.</summary>
    public event EventHandler<AgentStatus>? Changed;

    /// <summary>Starts mirroring the status into <paramref name="statusFile"/>.</summary>
    public void AttachFile(string statusFile)
    {
        lock (_gate) _statusFile = statusFile;
        Update(s => s);
    }

    public void Update(Func<AgentStatus, AgentStatus> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        AgentStatus next;
        string? file;
        lock (_gate)
        {
            next = change(_current) with { UpdatedUtc = DateTimeOffset.UtcNow };
            _current = next;
            file = _statusFile;
            if (file != null)
            {
                try
                {
                    TaskWorkFolder.WriteAtomic(file, JsonSerializer.SerializeToUtf8Bytes(next, TaskWorkFolder.Json));
                }
                catch (IOException)
                {
                    // The status file is informational; a full disk must not stop training.
                }
            }
        }

        Changed?.Invoke(this, next);
    }

    /// <summary>Reads an agent's status file (null when it does not exist yet or is being replaced).</summary>
    public static AgentStatus? ReadFile(string statusFile)
    {
        try
        {
            return File.Exists(statusFile) ? JsonSerializer.Deserialize<AgentStatus>(File.ReadAllBytes(statusFile), TaskWorkFolder.Json) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }
}
