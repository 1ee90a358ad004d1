using Azure;
using FedTune.ClientAgent.Configuration;
using FedTune.ClientAgent.Polling;
using Microsoft.Extensions.Logging;

namespace FedTune.ClientAgent.Execution;

/// <summary>
/// Retries idempotent storage operations on transient failures (timeouts, throttling, 5xx, network errors) with
/// exponential backoff and jitter. Permanent errors (403, 404, 409...) are thrown at once.
/// </summary>
public static partial class StorageRetry
{
    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, RetryOptions options, ILogger logger,
        string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(options);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < options.MaxAttempts && IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                var delay = PollBackoff.RetryDelay(attempt, options);
                LogRetry(logger, what, attempt, options.MaxAttempts, delay.TotalSeconds, e.Message);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static Task RunAsync(Func<CancellationToken, Task> operation, RetryOptions options, ILogger logger, string what,
        CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await operation(ct).ConfigureAwait(false);
            return true;
        }, options, logger, what, cancellationToken);

    /// <summary>Transport errors, timeouts, throttling and server errors; never a 4xx that retrying cannot fix.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        HttpRequestException or IOException or TimeoutException => true,
        _ => false,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Operation} failed (attempt {Attempt}/{MaxAttempts}): {Error}; retrying in {DelaySeconds:F1} s")]
    private static partial void LogRetry(ILogger logger, string operation, int attempt, int maxAttempts, double delaySeconds, string error);
}
