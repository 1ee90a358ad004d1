using FedTune.Core.Protocol;
using FedTune.Core.Randomness;
using FedTune.Orchestration.Plans;
using FedTune.Orchestration.Sampling;

namespace FedTune.Orchestration.Orchestrators;

/// <summary>Builds a hospital's <see cref="RoundTask"/> from the plan (pure: same inputs, same task).</summary>
public static class RoundTaskFactory
{
    public static RoundTask Create(FederationPlan plan, int round, int attempt, string hospitalId, ContentRef globalAdapter,
        DateTimeOffset issuedUtc)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(globalAdapter);
        var update = BlobLayout.UpdateFolder(plan.RunId, round, attempt);
        return new RoundTask
        {
            RunId = plan.RunId,
            Round = round,
            TotalRounds = plan.Rounds,
            Attempt = attempt,
            HospitalId = hospitalId,
            GlobalAdapter = globalAdapter,
            Recipe = plan.Recipe,
            LearningRate = plan.Recipe.LearningRateForRound(round, plan.Rounds),
            DeadlineUtc = issuedUtc + plan.RoundDeadline,
            IssuedUtc = issuedUtc,
            Seed = SplitMix64.DeriveSeed(plan.Seed, round, hospitalId),
            Container = BlobLayout.HospitalContainer(hospitalId),
            UpdateFolder = update,
            ManifestBlob = BlobLayout.UpdateManifest(plan.RunId, round, hospitalId, attempt).Name,
            FailedMarkerBlob = BlobLayout.FailedTaskMarker(plan.RunId, round, hospitalId, attempt).Name,
        };
    }

    /// <summary>
    /// The seed of the run's round-0 adapter: from the run's seed only, so two runs with one seed start from the same A
    /// matrices and reproduce each other.
    /// </summary>
    public static long LoraInitSeed(long runSeed) => SplitMix64.DeriveSeed(runSeed, 0, "lora-init");
}
