using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FedTune.Core.Processes;

namespace FedTune.Core.Storage;

/// <summary>
/// A private Azurite instance on free loopback ports with its own data folder, started from the repository's
/// pinned copy (tools/azurite). It stops when disposed, and also when this process dies (the launcher script
/// watches its owner), so no emulator outlives a killed run.
/// </summary>
public sealed class AzuriteProcess : IDisposable
{
    /// <summary>Azurite's well-known development account (public, documented by Microsoft; not a secret).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _repositoryRoot;
    private readonly bool _deleteData;
    private readonly TimeSpan? _saveInterval;
    private volatile Process _process;
    private bool _disposed;

    private AzuriteProcess(Process process, string repositoryRoot, string dataDirectory, bool deleteData, TimeSpan? saveInterval, int blobPort,
        int queuePort, int tablePort)
    {
        _saveInterval = saveInterval;
        _process = process;
        _repositoryRoot = repositoryRoot;
        DataDirectory = dataDirectory;
        _deleteData = deleteData;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public string DataDirectory { get; }
    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }

    /// <summary>True when the emulator has stopped (killed, crashed) since it was last started.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>A connection string for the Azure SDKs and the Durable Task Azure Storage provider.</summary>
    public string ConnectionString => ConnectionStringFor(BlobPort, QueuePort, TablePort);

    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) => string.Create(
        CultureInfo.InvariantCulture,
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/{AccountName};QueueEndpoint=http://127.0.0.1:{queuePort}/{AccountName};" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/{AccountName};");

    /// <summary>Where the launcher script lives in a checkout.</summary>
    public static string LauncherPath(string repositoryRoot) => Path.Combine(repositoryRoot, "tools", "azurite", "run-azurite.sh");

    /// <summary>True when Azurite is installed in the checkout (scripts/bootstrap.sh ran).</summary>
    public static bool IsInstalled(string repositoryRoot) =>
        File.Exists(Path.Combine(repositoryRoot, "tools", "azurite", "node_modules", "azurite", "dist", "src", "azurite.js"));

    /// <summary>Starts Azurite and waits until all three services accept connections.</summary>
    /// <param name="dataDirectory">Data folder; a new temporary one (deleted on dispose, and at a later start when a killed process left it) when null.</param>
    /// <param name="saveInterval">
    /// How often Azurite saves its metadata (which blobs, messages and rows exist); its own 5 s when null. A crash (kill -9)
    /// loses the writes it acknowledged since its last save (tools/azurite/save-often.js); each save rewrites the whole
    /// metadata, so keep the default for large emulated fleets.
    /// </param>
    public static async Task<AzuriteProcess> StartAsync(string? dataDirectory = null, string? repositoryRoot = null,
        TimeSpan? timeout = null, TimeSpan? saveInterval = null, CancellationToken cancellationToken = default)
    {
        repositoryRoot ??= RepositoryLayout.RequireRoot();
        if (!IsInstalled(repositoryRoot))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed in {Path.Combine(repositoryRoot, "tools", "azurite")}. " +
                "Fix: run scripts/bootstrap.sh (it runs `npm ci --prefix tools/azurite`; needs Node.js 18+ and npm).");
        }
        bool deleteData = dataDirectory == null;
        if (deleteData)
        {
            AzuriteTempFolders.DeleteAbandoned();
            dataDirectory = AzuriteTempFolders.Create();
        }
        Directory.CreateDirectory(dataDirectory!);

        for (int attempt = 0; ; attempt++)
        {
            int blob = FreeTcpPort(), queue = FreeTcpPort(), table = FreeTcpPort();
            var (process, errors) = await LaunchAsync(repositoryRoot, dataDirectory!, saveInterval, blob, queue, table, timeout, cancellationToken).ConfigureAwait(false);
            if (process is not null) return new AzuriteProcess(process, repositoryRoot, dataDirectory!, deleteData, saveInterval, blob, queue, table);
            if (attempt < 2 && errors.Contains("EADDRINUSE", StringComparison.Ordinal)) continue;
            if (deleteData) AzuriteTempFolders.Delete(dataDirectory!);
            throw NotStarted(errors);
        }
    }

    /// <summary>
    /// Starts the emulator again after it stopped, on the same data folder and the same ports, so every client's
    /// connection string stays valid and nothing stored is lost. No-op while it is running.
    /// </summary>
    public async Task RestartAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var stopped = _process;
        if (!stopped.HasExited) return;
        var (process, errors) = await LaunchAsync(_repositoryRoot, DataDirectory, _saveInterval, BlobPort, QueuePort, TablePort, timeout, cancellationToken)
            .ConfigureAwait(false);
        // The stopped process is disposed only once replaced: HasExited may be read meanwhile (simulate's watcher and its
        // storage calls run concurrently), and a disposed Process throws "No process is associated with this object".
        _process = process ?? throw NotStarted(errors);
        stopped.Dispose();
    }

    private static InvalidOperationException NotStarted(string errors) => new(
        "Azurite did not start" + (errors.Length > 0 ? ": " + errors : " in time") +
        ". Fix: run scripts/bootstrap.sh, check that `node --version` is 18 or newer, and that 127.0.0.1 ports can be bound.");

    /// <summary>Runs the launcher on these ports; the process once all three accept connections, else null and its stderr.</summary>
    private static async Task<(Process? Process, string Errors)> LaunchAsync(string repositoryRoot, string dataDirectory, TimeSpan? saveInterval,
        int blob, int queue, int table, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     LauncherPath(repositoryRoot), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), dataDirectory,
                     blob.ToString(CultureInfo.InvariantCulture), queue.ToString(CultureInfo.InvariantCulture),
                     table.ToString(CultureInfo.InvariantCulture),
                 })
        {
            psi.ArgumentList.Add(arg);
        }
        if (saveInterval is { } every)
        {
            psi.Environment["FEDTUNE_AZURITE_SAVE_MS"] = Math.Max(1, (int)every.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start bash to run Azurite.");
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (process.HasExited) break;
                if (await AcceptsAsync(blob).ConfigureAwait(false) && await AcceptsAsync(queue).ConfigureAwait(false) &&
                    await AcceptsAsync(table).ConfigureAwait(false))
                {
                    return (process, "");
                }
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            Stop(process);
            throw;
        }
        Stop(process);
        lock (stderr) return (null, (stderr.ToString().Trim() + Environment.NewLine + LogTail(dataDirectory)).Trim());
    }

    /// <summary>
    /// Stops the emulator gracefully: SIGTERM to the launcher, which forwards it to Azurite, which then saves its
    /// metadata database (it autosaves only every 5 s, so a SIGKILL loses the blobs of the last seconds); SIGKILL to
    /// the whole tree only when it has not stopped within <see cref="GracefulStop"/>.
    /// </summary>
    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                if (PosixSignal.Send(process.Id, PosixSignal.Terminate) && process.WaitForExit(GracefulStop)) return;
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>How long Azurite may take to save its data and exit after SIGTERM before it is killed.</summary>
    public static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(15);

    /// <summary>The last lines of the emulator's own log (the launcher writes it in the data folder), for a failed start.</summary>
    private static string LogTail(string dataDirectory)
    {
        try
        {
            var lines = File.ReadAllLines(Path.Combine(dataDirectory, "azurite.log"));
            return string.Join(Environment.NewLine, lines.TakeLast(5));
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Stop(_process);
        if (_deleteData) AzuriteTempFolders.Delete(DataDirectory);
    }
}
