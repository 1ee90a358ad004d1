namespace FedTune.Core.Data;

/// <summary>How the hospital pool is divided among hospitals.</summary>
public enum HospitalPartitioning
{
    /// <summary>Records dealt out at random: every hospital sees the same distribution (sizes differ by at most one).</summary>
    Iid,

    /// <summary>Whole topics dealt to hospitals (largest topic first, to the smallest hospital): a topic lives in one hospital.</summary>
    ByTopic,

    /// <summary>Each topic's records spread over hospitals by proportions drawn from Dirichlet(alpha): smaller alpha, more skew.</summary>
    DirichletByTopic,

    /// <summary>
    /// Each hospital holds whole specialties (<see cref="MedicalSpecialtyClassifier"/>): with three hospitals, one
    /// oncology centre, one cardiovascular centre, one infectious-disease clinic; with more, a specialty's topics are
    /// dealt among the hospitals that hold it. General-medicine topics in the pool go, whole, to the smallest hospital.
    /// </summary>
    BySpecialty,
}
