using System.Globalization;
using System.Net;
using Azure.Core;
using DurableTask.AzureStorage;
using DurableTask.Core;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Api;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FedTune.Orchestration.Local;

/// <summary>
/// Runs the federation orchestrations durably without Azure Functions Core Tools: the Durable Task Azure Storage
/// provider (Azurite or a real account) behind the in-process gRPC sidecar (<see cref="TaskHubGrpcServer"/>,
/// loopback, free port), a Durable Task worker and client talking to it, and the operator HTTP API on 127.0.0.1.
/// The same orchestrator and activity classes as the Functions app; state lives in storage, so a killed host
/// that starts again resumes its runs. An <see cref="UploadWatcher"/> raises the upload notices Event Grid raises in Azure.
/// </summary>
public sealed partial class LocalOrchestratorHost : IAsyncDisposable
{
    private readonly WebApplication _sidecar;
    private readonly GrpcChannel _channel;
    private readonly IHost _worker;
    private readonly WebApplication? _api;
    private readonly UploadWatcher? _watcher;
    private bool _stopped;

    private LocalOrchestratorHost(WebApplication sidecar, GrpcChannel channel, IHost worker,
        WebApplication? api, Uri? apiBaseUrl, BlobStore store, OperatorApi operatorApi, UploadWatcher? watcher)
    {
        _sidecar = sidecar;
        _channel = channel;
        _worker = worker;
        _api = api;
        _watcher = watcher;
        ApiBaseUrl = apiBaseUrl;
        Store = store;
        Operator = operatorApi;
        Client = worker.Services.GetRequiredService<DurableTaskClient>();
    }

    /// <summary>The operator API's base address, e.g. <c>http://127.0.0.1:41234/api/</c> (null when not served).</summary>
    public Uri? ApiBaseUrl { get; }

    /// <summary>A client of this host's task hub (start, query, terminate, raise events).</summary>
    public DurableTaskClient Client { get; }

    /// <summary>The operator API logic this host serves (callable in-process too).</summary>
    public OperatorApi Operator { get; }

    /// <summary>The blob store the activities use.</summary>
    public BlobStore Store { get; }

    /// <summary>The upload watcher's passes, listings and busy time so far (zeros when it is off).</summary>
    public (long Passes, long Listings, TimeSpan Busy) UploadWatcherTotals => _watcher?.Totals ?? (0, 0, TimeSpan.Zero);

    /// <summary>Starts against a storage account given by connection string (Azurite: <c>AzuriteProcess.ConnectionString</c>).</summary>
    public static Task<LocalOrchestratorHost> StartAsync(string connectionString, LocalOrchestratorOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return StartAsync(new StorageAccountClientProvider(connectionString), BlobStore.FromConnectionString(connectionString), options,
            cancellationToken);
    }

    /// <summary>Starts against a real account with Entra ID (no keys): blob, queue and table endpoints and a credential.</summary>
    public static Task<LocalOrchestratorHost> StartAsync(Uri blobEndpoint, Uri queueEndpoint, Uri tableEndpoint, TokenCredential credential,
        LocalOrchestratorOptions? options = null, CancellationToken cancellationToken = default) =>
        StartAsync(new StorageAccountClientProvider(blobEndpoint, queueEndpoint, tableEndpoint, credential),
            BlobStore.FromEndpoint(blobEndpoint, credential), options, cancellationToken);

    private static async Task<LocalOrchestratorHost> StartAsync(StorageAccountClientProvider account, BlobStore store,
        LocalOrchestratorOptions? options, CancellationToken cancellationToken)
    {
        options ??= new LocalOrchestratorOptions();
        options.Validate();
        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = options.TaskHubName,
            StorageAccountClientProvider = account,
            WorkItemQueueVisibilityTimeout = options.WorkItemVisibilityTimeout,
            ControlQueueVisibilityTimeout = options.ControlQueueVisibilityTimeout,
            LeaseInterval = options.LeaseInterval,
            LeaseRenewInterval = options.LeaseRenewInterval,
            LeaseAcquireInterval = options.LeaseAcquireInterval,
            PartitionCount = options.PartitionCount,
            MaxQueuePollingInterval = options.MaxQueuePollingInterval,
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
            MaxConcurrentTaskOrchestrationWorkItems = options.MaxConcurrentOrchestrations,
            WorkerId = options.WorkerId ?? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}"),
            LoggerFactory = loggerFactory,
            CustomMessageTypeBinder = new ProtobufMapTypeBinder(),
        });
        await service.CreateIfNotExistsAsync().ConfigureAwait(false);
        await store.EnsureContainerAsync(BlobLayout.GlobalContainer, cancellationToken).ConfigureAwait(false);

        WebApplication? sidecar = null, api = null;
        GrpcChannel? channel = null;
        IHost? worker = null;
        try
        {
            sidecar = BuildSidecar(service, loggerFactory);
            await sidecar.StartAsync(cancellationToken).ConfigureAwait(false);
            var sidecarAddress = BoundAddress(sidecar);
            channel = GrpcChannel.ForAddress(sidecarAddress);

            worker = BuildWorker(channel, store, loggerFactory);
            await worker.StartAsync(cancellationToken).ConfigureAwait(false);
            WarmUpAggregationInBackground(loggerFactory.CreateLogger<LocalOrchestratorHost>());
            var client = worker.Services.GetRequiredService<DurableTaskClient>();
            var operatorApi = new OperatorApi(client, store, options.MonitorFor);

            Uri? apiBase = null;
            if (options.ServeApi)
            {
                api = OperatorHttpApp.Build(operatorApi, options.ApiPort, loggerFactory);
                await api.StartAsync(cancellationToken).ConfigureAwait(false);
                apiBase = new Uri(BoundAddress(api) + "/api/");
            }
            UploadWatcher? watcher = null;
            if (options.UploadWatchInterval > TimeSpan.Zero)
            {
                watcher = new UploadWatcher(client, store, options.UploadWatchInterval, loggerFactory.CreateLogger<UploadWatcher>());
                watcher.Start();
            }
            return new LocalOrchestratorHost(sidecar, channel, worker, api, apiBase, store, operatorApi, watcher);
        }
        catch
        {
            if (api != null) await api.DisposeAsync().ConfigureAwait(false);
            if (worker != null)
            {
                await worker.StopAsync(CancellationToken.None).ConfigureAwait(false);
                worker.Dispose();
            }
            channel?.Dispose();
            if (sidecar != null) await sidecar.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The first round's aggregation would otherwise pay the JIT of its whole code path after the round's last upload;
    /// <see cref="Aggregation.AggregationWarmUp"/> pays it now, off the caller's path. A failure only costs that time.
    /// </summary>
    private static void WarmUpAggregationInBackground(ILogger logger) => _ = Task.Run(() =>
    {
        try
        {
            Aggregation.AggregationWarmUp.Run();
        }
#pragma warning disable CA1031 // a warm-up that fails changes nothing but the first round's time
        catch (Exception e)
#pragma warning restore CA1031
        {
            WarmUpFailed(logger, e);
        }
    });

    [LoggerMessage(Level = LogLevel.Warning, Message = "The aggregation warm-up failed; the first round aggregates without it.")]
    private static partial void WarmUpFailed(ILogger logger, Exception exception);

    private static WebApplication BuildSidecar(AzureStorageOrchestrationService service, ILoggerFactory loggerFactory)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "FedTune.Sidecar" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 64 << 20);
        builder.Services.AddSingleton<IOrchestrationService>(new PersistableHistoryService(service));
        builder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        var app = builder.Build();
        app.MapGrpcService<TaskHubGrpcServer>();
        // Created now so it hooks the application-started event that starts its dispatchers.
        app.Services.GetRequiredService<TaskHubGrpcServer>();
        return app;
    }

    private static IHost BuildWorker(GrpcChannel channel, BlobStore store, ILoggerFactory loggerFactory)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "FedTune.Worker" });
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddLogging();
        builder.Services.AddSingleton(store);
        builder.Services.AddDurableTaskWorker(worker =>
        {
            worker.UseGrpc(channel);
            worker.AddTasks(registry => registry.AddFederationTasks());
        });
        builder.Services.AddDurableTaskClient(client =>
        {
            client.UseGrpc(channel);
            client.RegisterDirectly();
        });
        return builder.Build();
    }

    private static string BoundAddress(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.First().TrimEnd('/')
        ?? throw new InvalidOperationException("Kestrel did not report the address it listens on.");

    /// <summary>Stops the API, then the worker (before the sidecar, else shutdown waits for the worker's stream), then the sidecar.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopped) return;
        _stopped = true;
        if (_watcher != null) await _watcher.DisposeAsync().ConfigureAwait(false);
        if (_api != null) await _api.StopAsync(cancellationToken).ConfigureAwait(false);
        await _worker.StopAsync(cancellationToken).ConfigureAwait(false);
        await _channel.ShutdownAsync().ConfigureAwait(false);
        // Stopping the sidecar stops its dispatchers, which stop the storage provider (releasing partition leases).
        await _sidecar.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_api != null) await _api.DisposeAsync().ConfigureAwait(false);
        _worker.Dispose();
        _channel.Dispose();
        await _sidecar.DisposeAsync().ConfigureAwait(false);
    }
}
