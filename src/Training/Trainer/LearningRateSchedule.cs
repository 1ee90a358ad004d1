using FedTune.Core.Configuration;

namespace FedTune.Training.Trainer;

/// <summary>
/// Hugging Face's schedules (<c>transformers.optimization</c>), as multipliers of the base learning rate for the
/// optimizer step with 0-based index <c>step</c> (the rate used BY that step, like <c>LambdaLR</c> before its
/// <c>scheduler.step()</c>):
/// <list type="bullet">
/// <item>warmup (all but constant): <c>step / max(1, warmup)</c> while <c>step &lt; warmup</c>;</item>
/// <item>linear: <c>max(0, (total − step) / max(1, total − warmup))</c>;</item>
/// <item>cosine (<c>get_cosine_schedule_with_warmup</c>, num_cycles 0.5):
/// <c>max(0, 0.5·(1 + cos(π · 2 · 0.5 · progress)))</c>, progress = <c>(step − warmup) / max(1, total − warmup)</c>;</item>
/// <item>constant: 1; constant_with_warmup: 1 after warmup.</item>
/// </list>
/// Warmup steps: <c>warmup_steps</c> if above 0, else <c>ceil(total · warmup_ratio)</c> (HF's <c>get_warmup_steps</c>).
/// </summary>
public static class LearningRateSchedule
{
    public static int WarmupSteps(int totalSteps, int warmupSteps, double warmupRatio) =>
        warmupSteps > 0 ? warmupSteps : (int)Math.Ceiling(totalSteps * warmupRatio);

    public static double Multiplier(LrSchedulerType type, int step, int warmupSteps, int totalSteps)
    {
        if (type != LrSchedulerType.Constant && step < warmupSteps)
        {
            return (double)step / Math.Max(1, warmupSteps);
        }

        switch (type)
        {
            case LrSchedulerType.Constant:
            case LrSchedulerType.ConstantWithWarmup:
                return 1.0;
            case LrSchedulerType.Linear:
                return Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps));
            case LrSchedulerType.Cosine:
                var progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * 2.0 * 0.5 * progress)));
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown learning-rate schedule.");
        }
    }
}
