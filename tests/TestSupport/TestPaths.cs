using FedTune.Core.Storage;
using Xunit;

namespace FedTune.TestSupport;

/// <summary>Paths tests need: the repository root, the real medical data, and self-deleting temp folders.</summary>
public static class TestPaths
{
    public static string RepositoryRoot => RepositoryLayout.RequireRoot();

    /// <summary>The real WikiDoc patient-information file beside the checkout, or null when absent.</summary>
    public static string? MedicalMeadowFile
    {
        get
        {
            var dir = RepositoryLayout.FindMedicalMeadow(RepositoryRoot);
            var file = dir == null ? null : Path.Combine(dir, "wikidoc_patient_information.json");
            return file != null && File.Exists(file) ? file : null;
        }
    }

    /// <summary>
    /// ../shared/models/pythia-70m beside the checkout: pythia-70m's config.json and the real GPT-NeoX-20B tokenizer.json
    /// (no weights); fails the calling test, naming the folder, when it is absent.
    /// </summary>
    public static string RequirePythia70mFolder()
    {
        var folder = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "models", "pythia-70m"));
        Assert.True(File.Exists(Path.Combine(folder, "tokenizer.json")) && File.Exists(Path.Combine(folder, "config.json")),
            $"This test needs pythia-70m's config.json and tokenizer.json in {folder} (beside the checkout).");
        return folder;
    }

    /// <summary>The real WikiDoc patient-information file; fails the calling test, naming the missing file, when it is absent.</summary>
    public static string RequireMedicalMeadowFile()
    {
        var file = MedicalMeadowFile;
        Assert.True(file != null, "This test needs the real medical data: ../shared/data/medical-meadow/wikidoc_patient_information.json beside the checkout (or FEDTUNE_DATA).");
        return file;
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "fedtune-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="content"/> to a file named <paramref name="name"/> in this folder and returns its path.</summary>
    public string WriteFile(string name, string content)
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
