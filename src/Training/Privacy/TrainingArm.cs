namespace FedTune.Training.Privacy;

/// <summary>How an audited model was trained; the ROC plots compare arms.</summary>
public enum TrainingArm
{
    /// <summary>The base model before fine-tuning (a control: it never saw hospital data, so AUROC ≈ 0.5).</summary>
    Base,

    /// <summary>All hospitals' data pooled in one place.</summary>
    Centralized,

    /// <summary>Federated averaging of hospital adapters.</summary>
    Federated,

    /// <summary>One hospital training alone on its own shard.</summary>
    LocalOnly,

    /// <summary>Federated with client-level DP-FedAvg (see <see cref="AuditModelSpec.Epsilon"/>).</summary>
    FederatedDp,

    /// <summary>Anything else (explicit paths with no arm given).</summary>
    Other,
}
