using System.Text.RegularExpressions;

namespace FedTune.Core.Configuration;

/// <summary>Where a model or dataset named in the config was found.</summary>
/// <param name="Path">A local folder (or file, for datasets).</param>
/// <param name="Origin">"local path", "$FEDTUNE_MODELS" / "$FEDTUNE_DATASETS" or "Hugging Face cache".</param>
public sealed record LocatedArtifact(string Path, string Origin);

/// <summary>A model or dataset named in the config is not on this machine. The message says where to put it.</summary>
public sealed class ArtifactNotFoundException : Exception
{
    public ArtifactNotFoundException()
    {
    }

    public ArtifactNotFoundException(string message)
        : base(message)
    {
    }

    public ArtifactNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Resolves hub ids against the local folders FedTune and Hugging Face use. It never downloads.</summary>
internal static partial class HubLocator
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex HubId();

    public static bool IsHubId(string name) => HubId().IsMatch(name);

    public static LocatedArtifact Resolve(string name, string kind, string rootVariable, string cachePrefix, Func<string, string?> environment)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (Directory.Exists(name) || (kind == "dataset" && File.Exists(name)))
        {
            return new LocatedArtifact(Path.GetFullPath(name), "local path");
        }

        var searched = new List<string>();
        if (!IsHubId(name))
        {
            throw new ArtifactNotFoundException(
                $"The {kind} '{name}' is neither an existing local path nor a hub id of the form org/name. Check the path in the config.");
        }

        var parts = name.Split('/');
        var root = environment(rootVariable);
        if (!string.IsNullOrEmpty(root))
        {
            var candidate = Path.Combine(root, parts[0], parts[1]);
            searched.Add(candidate);
            if (Directory.Exists(candidate))
            {
                return new LocatedArtifact(candidate, "$" + rootVariable);
            }
        }

        var hubCache = HubCacheFolder(environment);
        var repoFolder = Path.Combine(hubCache, $"{cachePrefix}--{parts[0]}--{parts[1]}");
        searched.Add(Path.Combine(repoFolder, "snapshots", "*"));
        var snapshot = Snapshot(repoFolder);
        if (snapshot is not null)
        {
            return new LocatedArtifact(snapshot, "Hugging Face cache");
        }

        var suggested = Path.Combine(string.IsNullOrEmpty(root) ? $"${rootVariable}" : root, parts[0], parts[1]);
        throw new ArtifactNotFoundException(
            $"The {kind} '{name}' is not on this machine, and FedTune never downloads it (hospital machines are often offline). "
            + $"Put its files in {suggested} (set {rootVariable} to the parent folder), or run "
            + $"'huggingface-cli download {(kind == "dataset" ? "--repo-type dataset " : string.Empty)}{name}' on a machine with access and copy {repoFolder}, "
            + $"or write a local folder path in the config. Looked in: {string.Join(", ", searched)}.");
    }

    private static string HubCacheFolder(Func<string, string?> environment)
    {
        var hubCache = environment("HF_HUB_CACHE");
        if (!string.IsNullOrEmpty(hubCache))
        {
            return hubCache;
        }

        var hfHome = environment("HF_HOME");
        if (!string.IsNullOrEmpty(hfHome))
        {
            return Path.Combine(hfHome, "hub");
        }

        var xdg = environment("XDG_CACHE_HOME");
        var cache = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "huggingface", "hub");
    }

    private static string? Snapshot(string repoFolder)
    {
        var snapshots = Path.Combine(repoFolder, "snapshots");
        if (!Directory.Exists(snapshots))
        {
            return null;
        }

        var mainRef = Path.Combine(repoFolder, "refs", "main");
        if (File.Exists(mainRef))
        {
            var revision = File.ReadAllText(mainRef).Trim();
            var pinned = Path.Combine(snapshots, revision);
            if (revision.Length > 0 && Directory.Exists(pinned))
            {
                return pinned;
            }
        }

        return new DirectoryInfo(snapshots).GetDirectories()
            .Where(d => d.EnumerateFileSystemInfos().Any())
            .OrderByDescending(d => d.LastWriteTimeUtc)
            .Select(d => d.FullName)
            .FirstOrDefault();
    }
}

/// <summary>Finds a base model: a local folder, <c>$FEDTUNE_MODELS/org/name</c>, or the Hugging Face hub cache.</summary>
public static class ModelLocator
{
    public const string RootVariable = "FEDTUNE_MODELS";

    /// <exception cref="ArtifactNotFoundException">Not found; the message says where to put the files.</exception>
    public static LocatedArtifact Resolve(string nameOrPath, Func<string, string?>? environment = null) =>
        HubLocator.Resolve(nameOrPath, "model", RootVariable, "models", environment ?? Environment.GetEnvironmentVariable);
}

/// <summary>Finds a dataset: a local file or folder, <c>$FEDTUNE_DATASETS/org/name</c>, or the Hugging Face hub cache.</summary>
public static class DatasetLocator
{
    public const string RootVariable = "FEDTUNE_DATASETS";

    /// <exception cref="ArtifactNotFoundException">Not found; the message says where to put the files.</exception>
    public static LocatedArtifact Resolve(string nameOrPath, Func<string, string?>? environment = null) =>
        HubLocator.Resolve(nameOrPath, "dataset", RootVariable, "datasets", environment ?? Environment.GetEnvironmentVariable);
}
