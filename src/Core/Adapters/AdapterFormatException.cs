namespace FedTune.Core.Adapters;

/// <summary>An adapter folder, file or config is malformed; the message names the file and the problem.</summary>
public sealed class AdapterFormatException : Exception
{
    public AdapterFormatException()
    {
    }

    public AdapterFormatException(string message)
        : base(message)
    {
    }

    public AdapterFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
