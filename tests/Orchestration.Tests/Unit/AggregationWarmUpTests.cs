using FedTune.Orchestration.Aggregation;
using Xunit;

namespace FedTune.Orchestration.Tests.Unit;

/// <summary>The local host warms the aggregation path up in the background; a warm-up that throws would only be logged.</summary>
public sealed class AggregationWarmUpTests
{
    [Fact]
    public void The_warm_up_runs_the_aggregation_path_without_storage()
    {
        var error = Record.Exception(AggregationWarmUp.Run);
        Assert.Null(error);
    }
}
