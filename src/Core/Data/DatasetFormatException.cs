namespace FedTune.Core.Data;

/// <summary>A data file cannot be read as Alpaca records; the message names the file, the line and the fix.</summary>
public sealed class DatasetFormatException : Exception
{
    public DatasetFormatException()
    {
    }

    public DatasetFormatException(string message)
        : base(message)
    {
    }

    public DatasetFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The file that failed, when known.</summary>
    public string? FilePath { get; init; }

    /// <summary>1-based line of the failure, when known.</summary>
    public long? LineNumber { get; init; }

    internal static DatasetFormatException At(string path, long? line, string problem, Exception? inner = null)
    {
        var where = line is { } l ? $"{path}, line {l}" : path;
        var message = $"{where}: {problem}";
        return inner is null
            ? new DatasetFormatException(message) { FilePath = path, LineNumber = line }
            : new DatasetFormatException(message, inner) { FilePath = path, LineNumber = line };
    }
}
