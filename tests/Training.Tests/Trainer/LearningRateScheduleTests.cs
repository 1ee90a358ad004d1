using FedTune.Core.Configuration;
using FedTune.Training.Trainer;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

public sealed class LearningRateScheduleTests
{
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]
    [InlineData(6, 0.5)]
    [InlineData(4, 0.85355339059327373)]
    [InlineData(10, 0.0)]
    public void Cosine_matches_get_cosine_schedule_with_warmup(int step, double expected)
    {
        Assert.Equal(expected, LearningRateSchedule.Multiplier(LrSchedulerType.Cosine, step, warmupSteps: 2, totalSteps: 10), 12);
    }

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(6, 0.5)]
    [InlineData(2, 1.0)]
    [InlineData(10, 0.0)]
    public void Linear_matches_get_linear_schedule_with_warmup(int step, double expected)
    {
        Assert.Equal(expected, LearningRateSchedule.Multiplier(LrSchedulerType.Linear, step, warmupSteps: 2, totalSteps: 10), 12);
    }

    [Fact]
    public void Constant_ignores_warmup_and_constant_with_warmup_ramps()
    {
        Assert.Equal(1.0, LearningRateSchedule.Multiplier(LrSchedulerType.Constant, 0, 5, 10));
        Assert.Equal(0.2, LearningRateSchedule.Multiplier(LrSchedulerType.ConstantWithWarmup, 1, 5, 10), 12);
        Assert.Equal(1.0, LearningRateSchedule.Multiplier(LrSchedulerType.ConstantWithWarmup, 7, 5, 10));
    }

    [Fact]
    public void WarmupSteps_prefers_steps_then_rounds_the_ratio_up()
    {
        Assert.Equal(3, LearningRateSchedule.WarmupSteps(10, 3, 0.5));
        Assert.Equal(2, LearningRateSchedule.WarmupSteps(10, 0, 0.15));
        Assert.Equal(0, LearningRateSchedule.WarmupSteps(10, 0, 0));
    }
}
