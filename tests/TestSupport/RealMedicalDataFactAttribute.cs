using Xunit;

namespace FedTune.TestSupport;

/// <summary>A fact that is skipped, saying why, when the real medical data file is not on this machine.</summary>
public sealed class RealMedicalDataFactAttribute : FactAttribute
{
    public RealMedicalDataFactAttribute()
    {
        if (TestPaths.MedicalMeadowFile is null)
        {
            Skip = "Real data absent: no ../shared/data/medical-meadow/wikidoc_patient_information.json beside the checkout (or FEDTUNE_DATA).";
        }
    }
}
