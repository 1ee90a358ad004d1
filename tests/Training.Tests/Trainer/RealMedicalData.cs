using Xunit;

namespace FedTune.Training.Tests.Trainer;

/// <summary>Finds <c>../shared/data/medical-meadow/wikidoc_patient_information.json</c> from the test's base directory upward.</summary>
internal static class RealMedicalData
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

/// <summary>A fact skipped, saying why, when the real medical data file is not on this machine.</summary>
internal sealed class RealMedicalDataFactAttribute : FactAttribute
{
    public RealMedicalDataFactAttribute()
    {
        if (RealMedicalData.Path is null)
        {
            Skip = $"Real data absent: no {RealMedicalData.RelativePath} in any parent of {AppContext.BaseDirectory}.";
        }
    }
}
