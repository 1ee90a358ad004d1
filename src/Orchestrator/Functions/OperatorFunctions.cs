using System.Globalization;
using System.Net;
using System.Text;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Api;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;

namespace FedTune.Orchestrator.Functions;

/// <summary>
/// The operator HTTP API (function keys by default: AuthorizationLevel.Function). Each endpoint only moves HTTP in and
/// out of <see cref="OperatorApi"/>, the same logic the local host serves.
/// </summary>
public sealed class OperatorFunctions(BlobStore store)
{
    [Function("StartRun")]
    public async Task<HttpResponseData> StartRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = OperatorRoutes.Runs)] HttpRequestData request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        string yaml;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
        {
            var buffer = new char[OperatorRoutes.MaxConfigBytes + 1];
            int read = await reader.ReadBlockAsync(buffer, request.FunctionContext.CancellationToken).ConfigureAwait(false);
            yaml = new string(buffer, 0, read);
        }
        int? fromRound = null;
        var fromRoundText = request.Query["from_round"];
        if (!string.IsNullOrEmpty(fromRoundText))
        {
            if (!int.TryParse(fromRoundText, NumberStyles.None, CultureInfo.InvariantCulture, out var round))
            {
                return await WriteAsync(request, OperatorResponse.Problem(400, "invalid_from_round", $"from_round '{fromRoundText}' is not a round number."))
                    .ConfigureAwait(false);
            }
            fromRound = round;
        }
        var api = new OperatorApi(client, store);
        return await WriteAsync(request, await api.StartRunAsync(yaml, request.Query["run_id"], request.Query["from_run"], fromRound,
            request.FunctionContext.CancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
    }

    [Function("ListRuns")]
    public async Task<HttpResponseData> ListRuns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = OperatorRoutes.Runs)] HttpRequestData request,
        [DurableClient] DurableTaskClient client) =>
        await WriteAsync(request, await new OperatorApi(client, store).ListRunsAsync(cancellationToken: CancellationOf(request)).ConfigureAwait(false))
            .ConfigureAwait(false);

    [Function("GetRun")]
    public async Task<HttpResponseData> GetRun(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = OperatorRoutes.Run)] HttpRequestData request,
        [DurableClient] DurableTaskClient client, string runId) =>
        await WriteAsync(request, await new OperatorApi(client, store).GetRunAsync(runId, CancellationOf(request)).ConfigureAwait(false)).ConfigureAwait(false);

    [Function("TerminateRun")]
    public async Task<HttpResponseData> TerminateRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = OperatorRoutes.Terminate)] HttpRequestData request,
        [DurableClient] DurableTaskClient client, string runId) =>
        await WriteAsync(request, await new OperatorApi(client, store).TerminateAsync(runId, request?.Query["reason"], CancellationOf(request!))
            .ConfigureAwait(false)).ConfigureAwait(false);

    [Function("DownloadAdapter")]
    public async Task<HttpResponseData> DownloadAdapter(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = OperatorRoutes.Adapter)] HttpRequestData request,
        [DurableClient] DurableTaskClient client, string runId) =>
        await WriteAsync(request, await new OperatorApi(client, store).DownloadLatestAdapterAsync(runId, CancellationOf(request)).ConfigureAwait(false))
            .ConfigureAwait(false);

    [Function("GetRoundRecord")]
    public async Task<HttpResponseData> GetRoundRecord(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = OperatorRoutes.RoundRecord)] HttpRequestData request,
        [DurableClient] DurableTaskClient client, string runId, int round) =>
        await WriteAsync(request, await new OperatorApi(client, store).GetRoundRecordAsync(runId, round, CancellationOf(request)).ConfigureAwait(false))
            .ConfigureAwait(false);

    [Function("UploadArrived")]
    public async Task<HttpResponseData> UploadArrived(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = OperatorRoutes.UploadArrived)] HttpRequestData request,
        [DurableClient] DurableTaskClient client, string runId, int round, string hospitalId) =>
        await WriteAsync(request, await new OperatorApi(client, store).NotifyUploadArrivedAsync(runId, round, hospitalId, CancellationOf(request))
            .ConfigureAwait(false)).ConfigureAwait(false);

    private static CancellationToken CancellationOf(HttpRequestData request) => request.FunctionContext.CancellationToken;

    private static async Task<HttpResponseData> WriteAsync(HttpRequestData request, OperatorResponse response)
    {
        var http = request.CreateResponse((HttpStatusCode)response.StatusCode);
        http.Headers.Add("Content-Type", response.ContentType);
        foreach (var (name, value) in response.Headers) http.Headers.Add(name, value);
        if (response.Stream != null)
        {
            await using (response.Stream.ConfigureAwait(false))
            {
                await response.Stream.CopyToAsync(http.Body, CancellationOf(request)).ConfigureAwait(false);
            }
        }
        else if (response.Body != null)
        {
            await http.Body.WriteAsync(response.Body, CancellationOf(request)).ConfigureAwait(false);
        }
        return http;
    }
}
