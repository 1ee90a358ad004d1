namespace FedTune.Core.Privacy;

/// <summary>The membership-inference attacks the audit runs; every score is oriented so higher = "member".</summary>
public enum MembershipAttack
{
    /// <summary>Negative mean token NLL of the scored tokens (Yeom et al. 2018).</summary>
    Loss,

    /// <summary>Reference model's mean NLL minus the target's (Carlini et al. 2021; the base model is the reference).</summary>
    ReferenceCalibratedLoss,

    /// <summary>Mean token log-likelihood divided by the zlib-compressed byte length of the text (Carlini et al. 2021).</summary>
    Zlib,

    /// <summary>Mean of the lowest k% token log-probabilities (Shi et al. 2024, "Min-K% Prob").</summary>
    MinK,

    /// <summary>Min-K% of token log-probabilities standardised by the model's own next-token distribution (Zhang et al. 2024, "Min-K%++").</summary>
    MinKPlusPlus,
}
