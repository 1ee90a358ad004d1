using System.Globalization;
using FedTune.Orchestration.Local;
using FedTune.Orchestration.Plans;

// Usage: FedTune.Orchestration.TestHost <connection-string> <task-hub> <first-poll-ms> <max-poll-ms>
// Prints "READY <api-base-url>" once serving; runs until stdin closes or the process is killed.
//    or: FedTune.Orchestration.TestHost load <hospitals> [rounds]   (the orchestration load check; see docs/orchestrator.md)
if (args.Length >= 2 && args[0] == "load")
{
    return await FedTune.Orchestration.TestHost.LoadCheck.RunAsync(
        int.Parse(args[1], CultureInfo.InvariantCulture), args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1);
}
if (args.Length != 4)
{
    await Console.Error.WriteLineAsync("usage: FedTune.Orchestration.TestHost <connection-string> <task-hub> <first-poll-ms> <max-poll-ms>");
    return 2;
}
var firstPoll = TimeSpan.FromMilliseconds(int.Parse(args[2], CultureInfo.InvariantCulture));
var maxPoll = TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture));
await using var host = await LocalOrchestratorHost.StartAsync(args[0], TestHostOptions.For(args[1], firstPoll, maxPoll));
Console.WriteLine("READY " + host.ApiBaseUrl);
await Console.In.ReadToEndAsync();
await host.StopAsync();
return 0;

internal static class TestHostOptions
{
    /// <summary>The same short timeouts the in-process integration tests use, so a restarted host resumes within seconds.</summary>
    public static LocalOrchestratorOptions For(string taskHub, TimeSpan firstPoll, TimeSpan maxPoll) => new()
    {
        TaskHubName = taskHub,
        WorkItemVisibilityTimeout = TimeSpan.FromSeconds(10),
        ControlQueueVisibilityTimeout = TimeSpan.FromSeconds(8),
        LeaseInterval = TimeSpan.FromSeconds(6),
        LeaseRenewInterval = TimeSpan.FromSeconds(2),
        LeaseAcquireInterval = TimeSpan.FromSeconds(1),
        MaxQueuePollingInterval = TimeSpan.FromMilliseconds(500),
        MonitorFor = _ => new MonitorSettings { FirstPoll = firstPoll, MaxPoll = maxPoll, BackoffFactor = 2 },
    };
}
