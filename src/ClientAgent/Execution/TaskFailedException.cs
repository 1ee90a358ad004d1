namespace FedTune.ClientAgent.Execution;

/// <summary>
/// A task that cannot be done because of bad input. <see cref="ReasonCode"/> (a <c>FailureReasons</c> code) and
/// <see cref="Message"/> go into the failed-task marker, so the message must never quote record text;
/// <see cref="LocalDetail"/> (which may, e.g. a parser error with a line's content) goes only to the local log.
/// </summary>
public sealed class TaskFailedException : Exception
{
    public TaskFailedException()
    {
        ReasonCode = "unknown";
    }

    public TaskFailedException(string message) : base(message)
    {
        ReasonCode = "unknown";
    }

    public TaskFailedException(string message, Exception innerException) : base(message, innerException)
    {
        ReasonCode = "unknown";
    }

    public TaskFailedException(string reasonCode, string message, string? localDetail = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ReasonCode = reasonCode;
        LocalDetail = localDetail;
    }

    public string ReasonCode { get; }

    public string? LocalDetail { get; }
}
