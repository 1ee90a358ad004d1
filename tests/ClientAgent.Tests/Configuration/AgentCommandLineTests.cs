using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FedTune.ClientAgent.Tests.Configuration;

public sealed class AgentCommandLineTests
{
    [Fact]
    public void Options_turned_into_a_command_line_bind_back_to_the_same_settings()
    {
        var options = new AgentOptions
        {
            HospitalId = "st-marys",
            Storage = new StorageOptions { Mode = CredentialMode.Sas, Endpoint = new Uri("https://acct.blob.core.windows.net/"), SasToken = "sv=1&sig=x" },
            Data = new DataOptions { Paths = ["/a.csv", "/b.csv"], Format = DataFormat.Csv, OutputColumn = "answer", HeldOutFraction = 0.15, SplitSeed = 3 },
            ModelPath = "/models/pythia-70m",
            ModelName = "EleutherAI/pythia-70m",
            Device = DeviceChoice.Cuda,
            WorkPath = "/var/lib/agent",
            Polling = new PollingOptions { MinInterval = TimeSpan.FromSeconds(2), MaxInterval = TimeSpan.FromSeconds(90), Jitter = 0.1 },
            Lease = new LeaseOptions { Duration = TimeSpan.FromSeconds(20), RenewInterval = TimeSpan.FromSeconds(5) },
            Evaluation = new EvaluationOptions { BatchSize = 3 },
            ModelCache = new ModelCacheOptions { Enabled = false, MinAvailableMemoryMiB = 2048, IdleTimeout = TimeSpan.FromMinutes(3) },
            ExitAfterTasks = 3,
            FaultInjection = new FaultInjectionOptions { PauseAt = FaultPoint.Upload, Round = 3, PauseFor = TimeSpan.FromSeconds(45) },
        };

        var builder = AgentHost.CreateBuilder([.. AgentCommandLine.From(options)]);
        var bound = builder.Configuration.Get<AgentOptions>()!;
        using var host = builder.Build();
        Assert.Equal(options.ShutdownTimeout, host.Services.GetRequiredService<IOptions<Microsoft.Extensions.Hosting.HostOptions>>().Value.ShutdownTimeout);

        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(options),
            System.Text.Json.JsonSerializer.Serialize(bound));
    }
}
