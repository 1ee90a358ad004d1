namespace FedTune.Core.Data;

/// <summary>
/// The clinical specialty a medical topic belongs to, as <see cref="MedicalSpecialtyClassifier"/> assigns it:
/// three specialties a hospital can focus on, and <see cref="General"/> for everything else (the public part the
/// embedded base model is pretrained on, so no hospital's specialty is in the base model).
/// </summary>
public enum MedicalSpecialty
{
    /// <summary>General medicine: topics that belong to none of the specialties below.</summary>
    General,

    /// <summary>Cancers, tumours, lymphomas, leukaemias.</summary>
    Oncology,

    /// <summary>Heart, arteries, veins, blood pressure, stroke.</summary>
    Cardiovascular,

    /// <summary>Bacterial, viral, fungal and parasitic infections.</summary>
    Infectious,
}
