namespace FedTune.Core.Storage;

/// <summary>Finds the repository's own folders (tools, shared data) from wherever the code runs.</summary>
public static class RepositoryLayout
{
    /// <summary>The folder holding FedTune.Cloud.sln, searched upward from <paramref name="start"/>
    /// (default: the running assembly's folder, then the current directory); null when not inside a checkout.</summary>
    public static string? FindRoot(string? start = null)
    {
        foreach (var origin in new[] { start, AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            if (string.IsNullOrEmpty(origin)) continue;
            for (var dir = new DirectoryInfo(origin); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "FedTune.Cloud.sln"))) return dir.FullName;
            }
        }
        return null;
    }

    /// <summary>The repository root, or an error that says how to run from a checkout.</summary>
    public static string RequireRoot() =>
        FindRoot() ?? throw new DirectoryNotFoundException(
            "Could not find the FedTune.Cloud checkout (no FedTune.Cloud.sln above " + AppContext.BaseDirectory +
            " or the current directory). Run from inside the repository, or set FEDTUNE_HOME to it.");

    /// <summary>The shared medical data folder (<c>../shared/data/medical-meadow</c> beside the checkout), or null.</summary>
    public static string? FindMedicalMeadow(string? root = null)
    {
        var env = Environment.GetEnvironmentVariable("FEDTUNE_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        root ??= FindRoot();
        if (root == null) return null;
        var candidate = Path.GetFullPath(Path.Combine(root, "..", "shared", "data", "medical-meadow"));
        return Directory.Exists(candidate) ? candidate : null;
    }

    /// <summary>Per-user cache for downloaded tools, base models and emulator data (outside the source tree).</summary>
    public static string CacheDirectory()
    {
        var env = Environment.GetEnvironmentVariable("FEDTUNE_CACHE");
        if (!string.IsNullOrEmpty(env)) return env;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDir = !string.IsNullOrEmpty(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(baseDir, "fedtune");
    }
}
