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
}
