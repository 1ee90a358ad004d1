using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using FedTune.Core.Storage;

namespace FedTune.Cli.Doctor;

/// <summary>The checks `fedtune doctor` runs, each returning what it found and the exact fix when broken.</summary>
public static class DoctorChecks
{
    public const string GlibcxxVersion = "GLIBCXX_3.4.32";

    public static CheckResult DotNet()
    {
        var version = Environment.Version;
        return version.Major >= 10
            ? CheckResult.Pass(".NET", $".NET runtime {version} ({RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture})")
            : CheckResult.Fail(".NET", $".NET runtime {version} is older than 10.", "Install the .NET 10 runtime/SDK (https://dot.net).");
    }

    /// <summary>Checks that libLibTorchSharp.so can load here: every non-weak libstdc++ version it needs is present.</summary>
    public static CheckResult TorchSharpLibrary(DoctorOptions options)
    {
        const string name = "TorchSharp native library";
        if (!OperatingSystem.IsLinux() && options.TorchSharpLibrary == null)
            return CheckResult.Pass(name, "not Linux: the libstdc++ version check does not apply.");
        string library = options.TorchSharpLibrary
            ?? Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(library))
        {
            return CheckResult.Fail(name, $"{library} is missing.",
                "Rebuild: scripts/bootstrap.sh (it restores TorchSharp-cpu and copies libtorch into the build output).");
        }
        IReadOnlyList<ElfVersionNeeds.Need> needs;
        try
        {
            needs = ElfVersionNeeds.Read(library);
        }
        catch (InvalidDataException ex)
        {
            return CheckResult.Fail(name, ex.Message, "Delete the build output (src/*/bin) and run scripts/bootstrap.sh.");
        }
        var candidates = options.LibStdCxxCandidates ?? SystemLibStdCxx();
        var strongMissing = needs
            .Where(n => !n.Weak && n.Version.StartsWith("GLIBCXX_", StringComparison.Ordinal) && !AnyContains(candidates, n.Version))
            .Select(n => n.Version)
            .ToList();
        if (strongMissing.Count > 0)
        {
            return CheckResult.Fail(name,
                $"{library} requires {string.Join(", ", strongMissing)}, which this system's libstdc++ ({string.Join(", ", candidates)}) lacks, so TorchSharp cannot load.",
                $"Rebuild with scripts/bootstrap.sh: the build marks the {GlibcxxVersion} need weak (build/TorchSharpNativeFix.targets; do not pass -p:FedTunePatchTorchSharp=false). Or install a libstdc++ from GCC 13+.");
        }
        var weak = needs.Where(n => n.Weak && n.Version == GlibcxxVersion).ToList();
        return CheckResult.Pass(name, weak.Count > 0
            ? $"{library}: {GlibcxxVersion} need marked weak by the build (this libstdc++ lacks it; the one symbol needing it is never called)."
            : $"{library}: every libstdc++ version it needs is present.");
    }

    /// <summary>Loads libtorch in this process and runs a forward and backward pass; reports CUDA.</summary>
    public static CheckResult TorchSharpRuns()
    {
        const string name = "TorchSharp forward/backward";
        try
        {
            var (loss, cuda, devices) = TorchProbe.ForwardBackward();
            return CheckResult.Pass(name, $"libtorch loaded; a backward pass ran (loss {loss:F4}). " +
                (cuda ? $"CUDA available: {devices} device(s)." : "CUDA not available: training runs on the CPU (build with -p:TorchBackend=Cuda on a GPU machine)."));
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or NotSupportedException or InvalidOperationException or ExternalException)
        {
            return CheckResult.Fail(name, "libtorch did not load: " + (ex.InnerException?.Message ?? ex.Message),
                "Run scripts/bootstrap.sh to rebuild (it restores TorchSharp-cpu and patches libLibTorchSharp.so where needed), then run fedtune doctor again.");
        }
    }

    public static CheckResult Azurite(DoctorOptions options)
    {
        const string name = "Azurite (local storage emulator)";
        string? root = options.RepositoryRoot;
        if (root == null)
            return CheckResult.Fail(name, "not running from a FedTune.Cloud checkout, so the pinned Azurite cannot be found.",
                "Run fedtune from the repository (./fedtune), or point it at real storage with --storage / FEDTUNE_STORAGE.");
        string? node = NodeVersion();
        if (node == null)
            return CheckResult.Fail(name, "Node.js is not installed (Azurite runs on it).", "apt-get install -y nodejs npm, then scripts/bootstrap.sh.");
        if (!AzuriteProcess.IsInstalled(root))
            return CheckResult.Fail(name, $"Azurite is not installed in {Path.Combine(root, "tools", "azurite")} (Node {node}).",
                "Run scripts/bootstrap.sh (it runs npm ci in tools/azurite).");
        return CheckResult.Pass(name, $"Azurite installed in tools/azurite; Node {node}.");
    }

    /// <summary>Writes and reads a blob: in the configured storage, or in a private Azurite started for the check.</summary>
    public static async Task<CheckResult> StorageAsync(DoctorOptions options, CancellationToken cancellationToken)
    {
        const string name = "Blob Storage reachability";
        AzuriteProcess? azurite = null;
        string where;
        try
        {
            string connection;
            if (!string.IsNullOrWhiteSpace(options.StorageConnectionString))
            {
                connection = options.StorageConnectionString;
                where = "the configured storage account";
            }
            else
            {
                if (options.RepositoryRoot == null || !AzuriteProcess.IsInstalled(options.RepositoryRoot))
                    return CheckResult.Fail(name, "no storage is configured and Azurite is not installed.",
                        "Run scripts/bootstrap.sh, or set FEDTUNE_STORAGE to a connection string.");
                azurite = await AzuriteProcess.StartAsync(repositoryRoot: options.RepositoryRoot, timeout: TimeSpan.FromSeconds(30), cancellationToken: cancellationToken).ConfigureAwait(false);
                connection = azurite.ConnectionString;
                where = $"a private Azurite on 127.0.0.1:{azurite.BlobPort}";
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            var container = new BlobServiceClient(connection, new BlobClientOptions { Retry = { MaxRetries = 1, NetworkTimeout = TimeSpan.FromSeconds(5) } })
                .GetBlobContainerClient("fedtune-doctor-" + Guid.NewGuid().ToString("N")[..12]);
            await container.CreateAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
            try
            {
                var payload = Encoding.UTF8.GetBytes("fedtune doctor");
                var blob = container.GetBlobClient("probe.txt");
                await blob.UploadAsync(new BinaryData(payload), timeout.Token).ConfigureAwait(false);
                var back = await blob.DownloadContentAsync(timeout.Token).ConfigureAwait(false);
                if (!back.Value.Content.ToArray().AsSpan().SequenceEqual(payload))
                    return CheckResult.Fail(name, $"a blob written to {where} read back different bytes.", "Check the storage endpoint; restart Azurite (scripts/azurite.sh stop; scripts/azurite.sh start).");
            }
            finally
            {
                await container.DeleteIfExistsAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
            return CheckResult.Pass(name, $"wrote, read and deleted a blob in {where}.");
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or OperationCanceledException or InvalidOperationException or FormatException or ArgumentException or AggregateException or System.Net.Http.HttpRequestException)
        {
            return CheckResult.Fail(name, "storage did not answer: " + FirstLine(ex.Message),
                string.IsNullOrWhiteSpace(options.StorageConnectionString)
                    ? "Run scripts/bootstrap.sh, check that 127.0.0.1 ports can be bound, then fedtune doctor again."
                    : "Check FEDTUNE_STORAGE / --storage (endpoint, credential, firewall), or unset it to use a local Azurite.");
        }
        finally
        {
            azurite?.Dispose();
        }
    }

    public static CheckResult MedicalData(DoctorOptions options)
    {
        const string name = "Medical data";
        string? dir = options.DataDirectory ?? RepositoryLayout.FindMedicalMeadow(options.RepositoryRoot);
        if (dir == null || !Directory.Exists(dir))
            return CheckResult.Fail(name, $"the data folder {(dir ?? "../shared/data/medical-meadow (beside the checkout)")} does not exist.",
                "Put the Medical Meadow JSON files in ../shared/data/medical-meadow beside the checkout, or set FEDTUNE_DATA, or pass --data FILE to the commands.");
        var files = Directory.GetFiles(dir, "*.json").Concat(Directory.GetFiles(dir, "*.jsonl")).ToList();
        if (files.Count == 0)
            return CheckResult.Fail(name, $"{dir} holds no .json or .jsonl file.", "Copy wikidoc_patient_information.json (Alpaca records) into it.");
        var details = new List<string>();
        foreach (var file in files)
        {
            try
            {
                using var stream = File.OpenRead(file);
                using var doc = JsonDocument.Parse(stream);
                if (doc.RootElement.ValueKind != JsonValueKind.Array)
                    return CheckResult.Fail(name, $"{file} is not a JSON array of records.", "Use Alpaca records: [{\"instruction\", \"input\", \"output\"}, ...].");
                int count = 0;
                foreach (var record in doc.RootElement.EnumerateArray())
                {
                    if (record.ValueKind != JsonValueKind.Object || !record.TryGetProperty("input", out _) || !record.TryGetProperty("output", out _))
                        return CheckResult.Fail(name, $"{file}: record {count} lacks \"input\"/\"output\".", "Use Alpaca records: [{\"instruction\", \"input\", \"output\"}, ...].");
                    count++;
                }
                details.Add($"{Path.GetFileName(file)}: {count} records");
            }
            catch (JsonException ex)
            {
                return CheckResult.Fail(name, $"{file} is not valid JSON: {ex.Message}", "Restore the file from its source (medalpaca's Medical Meadow).");
            }
        }
        return CheckResult.Pass(name, $"{dir}: {string.Join("; ", details)}.");
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    private static readonly string[] LibraryFolders =
        ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib"];

    private static List<string> SystemLibStdCxx() =>
        LibraryFolders
            .Select(d => Path.Combine(d, "libstdc++.so.6"))
            .Where(File.Exists)
            .ToList();

    private static bool AnyContains(IReadOnlyList<string> files, string version)
    {
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (var f in files)
        {
            try
            {
                if (File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0) return true;
            }
            catch (IOException)
            {
                // Unreadable candidate: try the next one.
            }
        }
        return false;
    }

    private static string? NodeVersion()
    {
        try
        {
            var psi = new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p == null) return null;
            string v = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit(5000);
            return p.ExitCode == 0 ? v : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
