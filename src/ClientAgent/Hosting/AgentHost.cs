using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Engine;
using FedTune.ClientAgent.Status;
using FedTune.ClientAgent.Tasks;
using FedTune.Core.Protocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedTune.ClientAgent.Hosting;

/// <summary>
/// Builds the agent's host: configuration (appsettings.json, an optional settings file, FEDTUNE_AGENT_* environment
/// variables, then the command line), validated <see cref="AgentOptions"/>, systemd and Windows service integration,
/// structured console logging and a bounded graceful stop. Used by the service executable and by <c>fedtune agent</c>.
/// </summary>
public static class AgentHost
{
    /// <summary>Prefix of the agent's environment variables (<c>FEDTUNE_AGENT_HospitalId</c>, <c>FEDTUNE_AGENT_Storage__Mode</c>).</summary>
    public const string EnvironmentPrefix = "FEDTUNE_AGENT_";

    /// <summary>Environment variable naming an extra JSON settings file (also <c>--settings FILE</c> on the command line).</summary>
    public const string SettingsFileVariable = EnvironmentPrefix + "SETTINGS";

    /// <summary>
    /// The agent's host builder. <paramref name="args"/> are configuration overrides (<c>--HospitalId x</c>,
    /// <c>--Storage:Mode ConnectionString</c>) plus an optional <c>--settings FILE</c>.
    /// <paramref name="configureServices"/> may replace registrations (e.g. a different <see cref="IRoundTrainer"/>).
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var (settingsFile, rest) = ExtractSettingsFile(args);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = rest,
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = "FedTune.ClientAgent",
        });

        settingsFile ??= Environment.GetEnvironmentVariable(SettingsFileVariable);
        if (!string.IsNullOrWhiteSpace(settingsFile))
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(settingsFile), optional: false, reloadOnChange: false);
        }

        builder.Configuration.AddEnvironmentVariables(EnvironmentPrefix);
        builder.Configuration.AddCommandLine(rest);

        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(o => o.ServiceName = "FedTuneAgent");
        if (!builder.Configuration.GetSection("Logging:Console").Exists())
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }

        AddAgent(builder.Services, builder.Configuration);
        configureServices?.Invoke(builder.Services);
        return builder;
    }

    /// <summary>Registers the agent (options, storage, trainer, status, worker) on <paramref name="services"/>.</summary>
    public static IServiceCollection AddAgent(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(new SettingsFileSecretGuard(configuration));
        services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        services.AddOptions<AgentOptions>().Bind(configuration).ValidateOnStart();
        // Read from configuration (not IOptions<AgentOptions>) so building the host never triggers validation early.
        services.AddOptions<HostOptions>().Configure(host =>
            host.ShutdownTimeout = configuration.GetValue(nameof(AgentOptions.ShutdownTimeout), new AgentOptions().ShutdownTimeout));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => AgentStorage.Create(sp.GetRequiredService<IOptions<AgentOptions>>().Value.Storage));
        services.TryAddSingleton(sp => new AgentStatusBoard(sp.GetRequiredService<IOptions<AgentOptions>>().Value.HospitalId));
        services.TryAddSingleton<Func<string, FedTune.Training.Data.ITextTokenizer>>(FedTune.Training.Tokenization.HuggingFaceTokenizer.Load);
        services.TryAddSingleton(sp => new BaseModelCache(sp.GetRequiredService<IOptions<AgentOptions>>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BaseModelCache>>()));
        services.TryAddSingleton<IRoundTrainer, TorchRoundTrainer>();
        services.AddHostedService<AgentWorker>();
        services.AddHostedService<SupervisorWatch>();
        return services;
    }

    private static (string? SettingsFile, string[] Remaining) ExtractSettingsFile(string[] args)
    {
        string? file = null;
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--settings" or "--Settings" && i + 1 < args.Length)
            {
                file = args[++i];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        return (file, rest.ToArray());
    }
}
