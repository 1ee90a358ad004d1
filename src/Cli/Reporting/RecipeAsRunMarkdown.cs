using System.Globalization;
using System.Text;
using FedTune.Core.Configuration;
using FedTune.Core.Protocol;

namespace FedTune.Cli.Reporting;

/// <summary>
/// report.md's "Recipe as the hospitals ran it": one row per round and hospital, every value taken from that agent's
/// manifest (what its model and trainer actually did), never from the YAML.
/// </summary>
public static class RecipeAsRunMarkdown
{
    public const string Title = "Recipe as the hospitals ran it";

    public static string ToMarkdown(IReadOnlyList<RoundReport> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        var rows = rounds.SelectMany(r => r.Hospitals.Where(h => h.Ran is not null).Select(h => (r.Round, h.HospitalId, Ran: h.Ran!, h.BusySeconds))).ToList();
        var md = new StringBuilder();
        if (rows.Count == 0)
        {
            md.AppendLine("No agent manifest reported how it trained.");
            return md.ToString();
        }

        md.AppendLine("From each agent's manifest: what its model and trainer actually ran. The learning rate is the one the round " +
                      "started from (FlowerTune's cosine across rounds when learning_rate_min is set); within a round it follows " +
                      "lr_scheduler_type as Hugging Face defines it.");
        md.AppendLine();
        md.AppendLine("| round | hospital | base weights | base MiB | gradient checkpointing | padding | seq_length | batch × accumulation | steps | learning rate (schedule) | LoRA r / alpha / dropout | freeze A | FedProx mu | record-level DP (clip / noise / δ) | train tokens | held-out eval | peak memory MiB | busy | device |");
        md.AppendLine("| ---: | --- | --- | ---: | --- | --- | ---: | ---: | ---: | --- | --- | --- | ---: | --- | ---: | --- | ---: | ---: | --- |");
        foreach (var (round, hospital, ran, busy) in rows)
        {
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {round} | {hospital} | {Weights(ran.Quantization)} | {ran.BaseModelBytes / 1048576.0:F1} | " +
                $"{(ran.GradientCheckpointing ? $"on ({ran.CheckpointedBlockPasses} block passes, {ran.ReusedProjectionOutputs} projection outputs reused)" : "off")} | {ran.PaddingSide.ToString().ToLowerInvariant()} | " +
                $"{ran.SeqLength} | {ran.BatchSize} × {ran.GradientAccumulationSteps} | {ran.Steps} | {ran.LearningRate:G4} ({Schedule(ran.LrSchedulerType)}) | " +
                $"{ran.LoraRank} / {ran.LoraAlpha:G4} / {ran.LoraDropout:G4} | {(ran.FreezeA ? "yes" : "no")} | {ran.ProximalMu:G4} | {RecordPrivacy(ran.RecordPrivacy)} | {ran.TrainTokens} | {Evaluation(ran)} | " +
                $"{ran.PeakMemoryBytes / 1048576.0:F0} | {ReportMarkdownWriter.FormatDuration(busy)} | {ran.Device} |"));
        }

        return md.ToString();
    }

    private static string Evaluation(TrainingAsRun ran) =>
        ran.EvalExamples > 0 ? string.Create(CultureInfo.InvariantCulture, $"{ran.EvalExamples} records")
        : ran.EvalEveryRounds == 0 ? "off" : string.Create(CultureInfo.InvariantCulture, $"skipped (every {ran.EvalEveryRounds} rounds)");

    /// <summary>train.differential_privacy as the trainer applied it: clip norm C, noise multiplier z, δ; "off" without it.</summary>
    private static string RecordPrivacy(RecordPrivacyConfig? dp) =>
        dp is null ? "off" : string.Create(CultureInfo.InvariantCulture, $"DP-SGD: C {dp.ClipNorm:G4} / z {dp.NoiseMultiplier:G4} / δ {dp.Delta:G3}");

    private static string Weights(BaseQuantization q) => q switch
    {
        BaseQuantization.Nf4 => "NF4 (4-bit)",
        BaseQuantization.Int8 => "int8",
        _ => "full precision",
    };

    private static string Schedule(LrSchedulerType type) => type switch
    {
        LrSchedulerType.ConstantWithWarmup => "constant_with_warmup",
        _ => type.ToString().ToLowerInvariant(),
    };
}
