namespace FedTune.Infra.Tests.Support;

/// <summary>
/// A private copy of the repository's infra/ folder in a temp directory, so a test can add a parameters
/// file or break a template on purpose without touching the real one.
/// </summary>
public sealed class InfraWorkspace : IDisposable
{
    public const string SubscriptionId = "00000000-0000-0000-0000-00000000a001";
    public const string TenantId = "00000000-0000-0000-0000-00000000b002";
    public const string ResourceGroup = "rg-fedtune-test";
    public const string Location = "westeurope";

    private InfraWorkspace(string directory) => Directory = directory;

    /// <summary>Root of the copy (it holds main.bicep, modules/, bicepconfig.json).</summary>
    public string Directory { get; }

    public static string RepositoryInfraDirectory =>
        Path.Combine(BicepCli.AssemblyMetadata("RepoRoot"), "infra");

    public static InfraWorkspace CopyOfRepositoryInfra()
    {
        var target = Path.Combine(Path.GetTempPath(), "fedtune-infra-" + Guid.NewGuid().ToString("N"));
        CopyDirectory(RepositoryInfraDirectory, target);
        return new InfraWorkspace(target);
    }

    public string PathOf(string relativePath) => Path.Combine(Directory, relativePath);

    /// <summary>Replaces text in one file of the copy; fails if the text is not there, so a stale mutation never passes silently.</summary>
    public void Replace(string relativePath, string oldText, string newText)
    {
        var path = PathOf(relativePath);
        var content = File.ReadAllText(path);
        if (!content.Contains(oldText, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"'{relativePath}' no longer contains the text to replace: {oldText}");
        }

        File.WriteAllText(path, content.Replace(oldText, newText, StringComparison.Ordinal));
    }

    public void WriteFile(string relativePath, string content) => File.WriteAllText(PathOf(relativePath), content);

    public BicepResult Build(string relativePath = "main.bicep") =>
        BicepCli.Run("build", PathOf(relativePath), "--stdout");

    /// <summary>Evaluates a .bicepparam file with the Bicep CLI and returns the resources the deployment would create.</summary>
    public DeploymentSnapshot Snapshot(string bicepparamRelativePath)
    {
        var result = BicepCli.Run(
            "snapshot", PathOf(bicepparamRelativePath), "--mode", "overwrite",
            "--subscription-id", SubscriptionId, "--tenant-id", TenantId,
            "--resource-group", ResourceGroup, "--location", Location, "--deployment-name", "main");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"bicep snapshot failed for {bicepparamRelativePath}: {result}");
        }

        var snapshotPath = Path.ChangeExtension(PathOf(bicepparamRelativePath), ".snapshot.json");
        return DeploymentSnapshot.Parse(File.ReadAllText(snapshotPath));
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; never fail a test on cleanup.
        }
    }

    private static void CopyDirectory(string source, string target)
    {
        System.IO.Directory.CreateDirectory(target);
        foreach (var file in System.IO.Directory.GetFiles(source))
        {
            if (!file.EndsWith(".snapshot.json", StringComparison.Ordinal))
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        }

        foreach (var directory in System.IO.Directory.GetDirectories(source))
        {
            CopyDirectory(directory, Path.Combine(target, Path.GetFileName(directory)));
        }
    }
}
