using Xunit;

namespace FedTune.Core.Tests.Data;

/// <summary>Finds <c>../shared/data/medical-meadow/wikidoc_patient_information.json</c> from the test's base directory upward.</summary>
internal static class MedicalDataFile
{
    public const string RelativePath = "shared/data/medical-meadow/wikidoc_patient_information.json";

    public static string? Path { get; } = Locate();

    private static string? Locate()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, RelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A fact that is skipped, saying why, when the real medical data file is not on this machine.</summary>
internal sealed class RealMedicalDataFactAttribute : FactAttribute
{
    public RealMedicalDataFactAttribute()
    {
        if (MedicalDataFile.Path is null)
        {
            Skip = $"Real data absent: no {MedicalDataFile.RelativePath} in any parent of {AppContext.BaseDirectory}.";
        }
    }
}
