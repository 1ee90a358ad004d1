using System.Net;
using FedTune.Orchestration.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FedTune.Orchestration.Local;

/// <summary>The operator HTTP API on 127.0.0.1 for the local host: the same routes and logic as the Functions app.</summary>
public static class OperatorHttpApp
{
    public static WebApplication Build(OperatorApi api, int port, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(api);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "FedTune.OperatorApi" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.Limits.MaxRequestBodySize = OperatorRoutes.MaxConfigBytes + 1;
        });
        var app = builder.Build();
        var group = app.MapGroup("/api");
        group.MapPost(OperatorRoutes.Runs, async (HttpContext http) =>
        {
            string yaml;
            try
            {
                using var reader = new StreamReader(http.Request.Body);
                yaml = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
            {
                await WriteAsync(http, OperatorResponse.Problem(e.StatusCode, "bad_request", e.Message)).ConfigureAwait(false);
                return;
            }
            var query = http.Request.Query;
            int? fromRound = null;
            if (query.TryGetValue("from_round", out var fr) && !string.IsNullOrEmpty(fr))
            {
                if (!int.TryParse(fr, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var r))
                {
                    await WriteAsync(http, OperatorResponse.Problem(400, "invalid_from_round", $"from_round '{fr}' is not a round number.")).ConfigureAwait(false);
                    return;
                }
                fromRound = r;
            }
            await WriteAsync(http, await api.StartRunAsync(yaml, query["run_id"], query["from_run"], fromRound, http.RequestAborted).ConfigureAwait(false))
                .ConfigureAwait(false);
        });
        group.MapGet(OperatorRoutes.Runs, async (HttpContext http) =>
            await WriteAsync(http, await api.ListRunsAsync(cancellationToken: http.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        group.MapGet(OperatorRoutes.Run, async (HttpContext http, string runId) =>
            await WriteAsync(http, await api.GetRunAsync(runId, http.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        group.MapPost(OperatorRoutes.Terminate, async (HttpContext http, string runId) =>
            await WriteAsync(http, await api.TerminateAsync(runId, http.Request.Query["reason"], http.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        group.MapGet(OperatorRoutes.Adapter, async (HttpContext http, string runId) =>
            await WriteAsync(http, await api.DownloadLatestAdapterAsync(runId, http.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        group.MapGet(OperatorRoutes.RoundRecord, async (HttpContext http, string runId, int round) =>
            await WriteAsync(http, await api.GetRoundRecordAsync(runId, round, http.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        group.MapGet(OperatorRoutes.Dashboard, async (HttpContext http) =>
            await WriteAsync(http, OperatorApi.DashboardPage()).ConfigureAwait(false));
        group.MapGet(OperatorRoutes.RunDashboard, async (HttpContext http, string runId) =>
            await WriteAsync(http, await api.GetDashboardAsync(runId, http.Request.Query["after_round"], http.Request.Query["after_evaluation"],
                http.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        group.MapPost(OperatorRoutes.UploadArrived, async (HttpContext http, string runId, int round, string hospitalId) =>
            await WriteAsync(http, await api.NotifyUploadArrivedAsync(runId, round, hospitalId, http.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        return app;
    }

    private static async Task WriteAsync(HttpContext http, OperatorResponse response)
    {
        http.Response.StatusCode = response.StatusCode;
        http.Response.ContentType = response.ContentType;
        foreach (var (name, value) in response.Headers) http.Response.Headers[name] = value;
        if (response.Stream != null)
        {
            await using (response.Stream.ConfigureAwait(false))
            {
                await response.Stream.CopyToAsync(http.Response.Body, http.RequestAborted).ConfigureAwait(false);
            }
        }
        else if (response.Body != null)
        {
            await http.Response.Body.WriteAsync(response.Body, http.RequestAborted).ConfigureAwait(false);
        }
    }
}
