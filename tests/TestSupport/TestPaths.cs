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
