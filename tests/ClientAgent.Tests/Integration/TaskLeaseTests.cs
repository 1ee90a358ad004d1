using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Tasks;
using FedTune.ClientAgent.Tests.Support;
using FedTune.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FedTune.ClientAgent.Tests.Integration;

[Collection(AzuriteTestGroup.Name)]
public sealed class TaskLeaseTests(AzuriteFixture azurite)
{
    private static readonly LeaseOptions Lease = new() { Duration = TimeSpan.FromSeconds(15), RenewInterval = TimeSpan.FromSeconds(2) };

    [Fact]
    public async Task A_second_instance_cannot_take_a_leased_task_but_the_holder_can_after_a_restart()
    {
        using var bed = new AgentTestBed(azurite);
        await bed.WriteTaskAsync(1, null);
        var task = await bed.SingleOpenTaskAsync();
        Guid first = Guid.NewGuid(), second = Guid.NewGuid();

        var held = await TaskLease.TryAcquireAsync(bed.Store, task.LockBlob, first, Lease, NullLogger.Instance, default);
        Assert.NotNull(held);
        Assert.Null(await TaskLease.TryAcquireAsync(bed.Store, task.LockBlob, second, Lease, NullLogger.Instance, default));

        // A killed agent restarts with the same instance id (kept in its work folder) and takes its own lease straight back.
        var again = await TaskLease.TryAcquireAsync(bed.Store, task.LockBlob, first, Lease, NullLogger.Instance, default);
        Assert.NotNull(again);
        await again.DisposeAsync();

        // Released (on shutdown): now another instance may take it.
        var taken = await TaskLease.TryAcquireAsync(bed.Store, task.LockBlob, second, Lease, NullLogger.Instance, default);
        Assert.NotNull(taken);
        await taken.DisposeAsync();
        await held.DisposeAsync();
    }

    [Fact]
    public async Task The_lease_is_renewed_while_held_so_it_outlives_its_duration()
    {
        using var bed = new AgentTestBed(azurite);
        await bed.WriteTaskAsync(1, null);
        var task = await bed.SingleOpenTaskAsync();
        await using var held = await TaskLease.TryAcquireAsync(bed.Store, task.LockBlob, Guid.NewGuid(), Lease, NullLogger.Instance, default);
        Assert.NotNull(held);

        await Task.Delay(TimeSpan.FromSeconds(17));

        Assert.False(held.Lost.IsCancellationRequested);
        Assert.Null(await TaskLease.TryAcquireAsync(bed.Store, task.LockBlob, Guid.NewGuid(), Lease, NullLogger.Instance, default));
    }
}
