namespace FedTune.Core.Configuration;

/// <summary>What to do when fewer than min_fit_clients updates arrive before the round deadline.</summary>
public enum QuorumFailurePolicy
{
    /// <summary>Stop the run with an error.</summary>
    Fail,

    /// <summary>Run the round again, up to max_retries times, then fail.</summary>
    Retry,
}

/// <summary>Server-side aggregation strategies.</summary>
public enum StrategyName
{
    FedAvg,
    FedAvgM,
    FedAdagrad,
    FedAdam,
    FedYogi,

    /// <summary>FedAvg on the server plus a proximal term mu/2·||w - w_global||² in each client's loss.</summary>
    FedProx,
    Median,
    TrimmedMean,
    NormBounded,
}

/// <summary><c>federation:</c> rounds, clients, sampling, deadline, strategy, privacy and validation.</summary>
public sealed record FederationConfig
{
    public int Rounds { get; init; } = ConfigDefaults.Rounds;

    public IReadOnlyList<HospitalConfig> Hospitals { get; init; } = [];

    /// <summary>Fraction of available clients sampled each round (Flower fraction_fit).</summary>
    public double FractionFit { get; init; } = ConfigDefaults.FractionFit;

    /// <summary>Fewest clients trained per round (Flower min_fit_clients).</summary>
    public int MinFitClients { get; init; } = ConfigDefaults.MinFitClients;

    /// <summary>Fewest connected clients before a round starts (Flower min_available_clients).</summary>
    public int MinAvailableClients { get; init; } = ConfigDefaults.MinAvailableClients;

    /// <summary>How long the server waits for updates in one round.</summary>
    public TimeSpan RoundDeadline { get; init; } = ConfigDefaults.RoundDeadline;

    public QuorumFailurePolicy OnQuorumFailure { get; init; } = ConfigDefaults.OnQuorumFailure;

    public int MaxRetries { get; init; } = ConfigDefaults.MaxRetries;

    public StrategyConfig Strategy { get; init; } = StrategyConfig.For(ConfigDefaults.Strategy);

    /// <summary>Client-level DP-FedAvg; null when off.</summary>
    public DifferentialPrivacyConfig? DifferentialPrivacy { get; init; }

    public UpdateValidationConfig Validation { get; init; } = new();

    /// <summary>
    /// How declared example counts become bounded aggregation weights (<c>weighting:</c> budget, capped or uniform);
    /// null: budget when the recipe trains max_steps, capped when it trains by epochs (no per-round budget then).
    /// </summary>
    public Aggregation.WeightingKind? Weighting { get; init; }

    /// <summary>With capped weighting: a weight is at most this multiple of the round's median declared count.</summary>
    public double WeightingCap { get; init; } = ConfigDefaults.WeightingCap;

    /// <summary>Seed for client sampling and DP noise.</summary>
    public int Seed { get; init; } = ConfigDefaults.Seed;

    /// <summary>Secure aggregation (<c>secure_aggregation: {enabled: true}</c>); null when off, the default.</summary>
    public SecureAggregationConfig? SecureAggregation { get; init; }

    /// <summary>Number of clients sampled in a round with <paramref name="available"/> clients (Flower's rule).</summary>
    public int ClientsToSample(int available) => Math.Max((int)(available * FractionFit), MinFitClients);
}

/// <summary>One hospital (client) and where its data lives on its own machine.</summary>
public sealed record HospitalConfig
{
    public required string Id { get; init; }

    /// <summary>Paths on the hospital's machine (never uploaded).</summary>
    public IReadOnlyList<string> DataPaths { get; init; } = [];

    /// <summary>Record format of the data files (e.g. alpaca).</summary>
    public string Format { get; init; } = ConfigDefaults.HospitalDataFormat;
}

/// <summary><c>federation.strategy:</c> the strategy and its parameters, with per-strategy defaults resolved.</summary>
public sealed record StrategyConfig
{
    public StrategyName Name { get; init; } = ConfigDefaults.Strategy;

    /// <summary>FedAvgM server learning rate.</summary>
    public double ServerLearningRate { get; init; } = ConfigDefaults.ServerLearningRate;

    /// <summary>FedAvgM server momentum.</summary>
    public double ServerMomentum { get; init; } = ConfigDefaults.ServerMomentum;

    /// <summary>Server learning rate of FedAdagrad/FedAdam/FedYogi.</summary>
    public double Eta { get; init; } = ConfigDefaults.EtaAdaptive;

    /// <summary>Client learning rate (Reddi et al.'s eta_l; reported, the client uses its own lr).</summary>
    public double EtaL { get; init; } = ConfigDefaults.EtaL;

    public double Beta1 { get; init; } = ConfigDefaults.Beta1;

    public double Beta2 { get; init; } = ConfigDefaults.Beta2;

    /// <summary>Adaptivity degree (added to sqrt(v)).</summary>
    public double Tau { get; init; } = ConfigDefaults.TauAdaptive;

    /// <summary>FedProx proximal coefficient mu (0 unless the strategy is fedprox).</summary>
    public double ProximalMu { get; init; }

    /// <summary>Trimmed mean: fraction of values cut from each end per coordinate.</summary>
    public double TrimFraction { get; init; } = ConfigDefaults.TrimFraction;

    /// <summary>Norm-bounded averaging: each update delta is clipped to this L2 norm.</summary>
    public double NormBound { get; init; } = ConfigDefaults.NormBound;

    /// <summary>Defaults for <paramref name="name"/>.</summary>
    public static StrategyConfig For(StrategyName name) => new()
    {
        Name = name,
        Eta = ConfigDefaults.EtaFor(name),
        Beta1 = ConfigDefaults.Beta1For(name),
        Tau = ConfigDefaults.TauFor(name),
        ProximalMu = name == StrategyName.FedProx ? ConfigDefaults.ProximalMu : 0,
    };
}

/// <summary><c>federation.differential_privacy:</c> client-level DP-FedAvg (McMahan et al. 2018).</summary>
public sealed record DifferentialPrivacyConfig
{
    /// <summary>L2 norm each client's update delta is clipped to (C).</summary>
    public required double ClipNorm { get; init; }

    /// <summary>Noise std divided by C (z); the sum gets N(0, (z·C)²).</summary>
    public required double NoiseMultiplier { get; init; }

    /// <summary>Target delta for the (epsilon, delta) report.</summary>
    public double Delta { get; init; } = ConfigDefaults.Delta;
}

/// <summary><c>federation.validation:</c> checks each update passes before it is averaged.</summary>
public sealed record UpdateValidationConfig
{
    /// <summary>Reject an update whose delta norm exceeds k times the round's median delta norm.</summary>
    public double MaxNormRatio { get; init; } = ConfigDefaults.MaxNormRatio;

    /// <summary>Reject an update whose bytes do not hash to the SHA-256 in the client's manifest (always true: false is refused at load).</summary>
    public bool RequireManifestHash { get; init; } = ConfigDefaults.RequireManifestHash;
}
