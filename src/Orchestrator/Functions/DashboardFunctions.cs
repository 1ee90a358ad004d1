using System.Net;
using FedTune.Core.Protocol;
using FedTune.Orchestration.Api;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;

namespace FedTune.Orchestrator.Functions;

/// <summary>
/// The dashboard in the Functions app, with the operator API's authentication: function keys (open it as
/// <c>/api/dashboard?code=KEY</c>; the page sends the same key with every request it makes) or, with App Service
/// authentication (Easy Auth) in front, the signed-in session.
/// </summary>
public sealed class DashboardFunctions(BlobStore store)
{
    [Function("Dashboard")]
    public static async Task<HttpResponseData> Dashboard(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = OperatorRoutes.Dashboard)] HttpRequestData request) =>
        await WriteAsync(request, OperatorApi.DashboardPage()).ConfigureAwait(false);

    [Function("GetRunDashboard")]
    public async Task<HttpResponseData> GetRunDashboard(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = OperatorRoutes.RunDashboard)] HttpRequestData request,
        [DurableClient] DurableTaskClient client, string runId)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await new OperatorApi(client, store).GetDashboardAsync(runId, request.Query["after_round"], request.Query["after_evaluation"],
            request.FunctionContext.CancellationToken).ConfigureAwait(false);
        return await WriteAsync(request, response).ConfigureAwait(false);
    }

    private static async Task<HttpResponseData> WriteAsync(HttpRequestData request, OperatorResponse response)
    {
        ArgumentNullException.ThrowIfNull(request);
        var http = request.CreateResponse((HttpStatusCode)response.StatusCode);
        http.Headers.Add("Content-Type", response.ContentType);
        foreach (var (name, value) in response.Headers) http.Headers.Add(name, value);
        if (response.Body != null) await http.Body.WriteAsync(response.Body, request.FunctionContext.CancellationToken).ConfigureAwait(false);
        return http;
    }
}
