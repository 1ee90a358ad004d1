using System.Globalization;

namespace FedTune.ClientAgent.Configuration;

/// <summary>
/// <see cref="AgentOptions"/> as the agent's command-line overrides (<c>--HospitalId x --Storage:Mode ...</c>): what a
/// launcher passes to <c>dotnet FedTune.ClientAgent.dll</c> or to <see cref="Hosting.AgentHost.CreateBuilder"/> to run an
/// agent with exactly these settings (simulations, tests, service wrappers).
/// </summary>
public static class AgentCommandLine
{
    public static IReadOnlyList<string> From(AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var args = new List<string>();
        void Add(string key, string? value)
        {
            if (value is null) return;
            args.Add("--" + key);
            args.Add(value);
        }

        static string Span(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
        static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        static string Integer(int value) => value.ToString(CultureInfo.InvariantCulture);

        Add("HospitalId", options.HospitalId);
        Add("Storage:Mode", options.Storage.Mode.ToString());
        Add("Storage:Endpoint", options.Storage.Endpoint?.ToString());
        Add("Storage:ManagedIdentityClientId", options.Storage.ManagedIdentityClientId);
        Add("Storage:SasToken", options.Storage.SasToken);
        Add("Storage:ConnectionString", options.Storage.ConnectionString);
        for (int i = 0; i < options.Data.Paths.Count; i++) Add($"Data:Paths:{i}", options.Data.Paths[i]);
        Add("Data:Format", options.Data.Format.ToString());
        Add("Data:InstructionColumn", options.Data.InstructionColumn);
        Add("Data:InputColumn", options.Data.InputColumn);
        Add("Data:OutputColumn", options.Data.OutputColumn);
        Add("Data:HeldOutFraction", Number(options.Data.HeldOutFraction));
        Add("Data:SplitSeed", Integer(options.Data.SplitSeed));
        Add("Data:MaxRecordCharacters", Integer(options.Data.MaxRecordCharacters));
        Add("Data:MaxEvalExamples", Integer(options.Data.MaxEvalExamples));
        Add("ModelPath", options.ModelPath);
        Add("ModelName", options.ModelName);
        Add("Device", options.Device.ToString());
        Add("WorkPath", options.WorkPath);
        Add("Polling:MinInterval", Span(options.Polling.MinInterval));
        Add("Polling:MaxInterval", Span(options.Polling.MaxInterval));
        Add("Polling:BackoffFactor", Number(options.Polling.BackoffFactor));
        Add("Polling:Jitter", Number(options.Polling.Jitter));
        Add("Evaluation:BatchSize", Integer(options.Evaluation.BatchSize));
        Add("ModelCache:Enabled", options.ModelCache.Enabled ? "true" : "false");
        Add("ModelCache:MinAvailableMemoryMiB", Integer(options.ModelCache.MinAvailableMemoryMiB));
        Add("ModelCache:IdleTimeout", Span(options.ModelCache.IdleTimeout));
        Add("Lease:Duration", Span(options.Lease.Duration));
        Add("Lease:RenewInterval", Span(options.Lease.RenewInterval));
        Add("Upload:MaxAttempts", Integer(options.Upload.MaxAttempts));
        Add("Upload:FirstDelay", Span(options.Upload.FirstDelay));
        Add("Upload:MaxDelay", Span(options.Upload.MaxDelay));
        Add("ShutdownTimeout", Span(options.ShutdownTimeout));
        Add("ExitAfterTasks", Integer(options.ExitAfterTasks));
        Add("FaultInjection:PauseAt", options.FaultInjection.PauseAt.ToString());
        Add("FaultInjection:Round", Integer(options.FaultInjection.Round));
        Add("FaultInjection:PauseFor", Span(options.FaultInjection.PauseFor));
        return args;
    }
}
