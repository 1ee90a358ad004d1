namespace FedTune.Core.Data;

/// <summary>How the public part (the embedded base model's pretraining data) is drawn.</summary>
public enum PublicPartSelection
{
    /// <summary><see cref="MedicalSplitOptions.PublicFraction"/> of the records, at random: the base model has seen every topic.</summary>
    Random,

    /// <summary>
    /// Every record whose topic is <see cref="MedicalSpecialty.General"/>: the base model never sees a specialty topic,
    /// so the hospitals' data is a domain shift for it. Falls back to <see cref="Random"/> when the data has no general
    /// or no specialty topics (the split says which it used).
    /// </summary>
    GeneralMedicine,
}

/// <summary>
/// How <see cref="MedicalDataSplitter"/> divides records. Fractions are of the de-duplicated records: first a PUBLIC
/// split (to pretrain the embedded base model) and a global EVALUATION split are drawn at random; the rest is
/// divided among <see cref="HospitalCount"/> hospitals, each of which keeps <see cref="HospitalHeldOutFraction"/> of
/// its records as its own held-out part.
/// </summary>
public sealed record MedicalSplitOptions
{
    public int HospitalCount { get; init; } = 2;

    public double PublicFraction { get; init; } = 0.2;

    public double EvaluationFraction { get; init; } = 0.1;

    public double HospitalHeldOutFraction { get; init; } = 0.1;

    public HospitalPartitioning Partitioning { get; init; } = HospitalPartitioning.Iid;

    /// <summary>How the public part is chosen: a random <see cref="PublicFraction"/>, or every general-medicine topic.</summary>
    public PublicPartSelection PublicPart { get; init; } = PublicPartSelection.Random;

    /// <summary>Concentration for <see cref="HospitalPartitioning.DirichletByTopic"/>; 0.5 is strongly skewed, 100 is near IID.</summary>
    public double DirichletAlpha { get; init; } = 0.5;

    public int Seed { get; init; } = 42;

    /// <summary>Throws with the offending value and the allowed range.</summary>
    public void Validate()
    {
        if (HospitalCount < 1)
        {
            throw new ArgumentException($"HospitalCount is {HospitalCount}: at least one hospital is needed.");
        }

        CheckFraction(nameof(PublicFraction), PublicFraction);
        CheckFraction(nameof(EvaluationFraction), EvaluationFraction);
        CheckFraction(nameof(HospitalHeldOutFraction), HospitalHeldOutFraction);
        if (PublicFraction + EvaluationFraction >= 1)
        {
            throw new ArgumentException(
                $"PublicFraction ({PublicFraction}) + EvaluationFraction ({EvaluationFraction}) must stay below 1 so hospitals get records.");
        }

        if (!(DirichletAlpha > 0) || double.IsInfinity(DirichletAlpha))
        {
            throw new ArgumentException($"DirichletAlpha is {DirichletAlpha}: it must be a finite number above 0.");
        }
    }

    private static void CheckFraction(string name, double value)
    {
        if (!(value >= 0 && value < 1))
        {
            throw new ArgumentException($"{name} is {value}: it must be in [0, 1).");
        }
    }
}
