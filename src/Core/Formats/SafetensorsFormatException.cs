namespace FedTune.Core.Formats;

/// <summary>A safetensors file is malformed or hostile. The message names the file and, where known, the tensor.</summary>
public sealed class SafetensorsFormatException : Exception
{
    public SafetensorsFormatException()
    {
    }

    public SafetensorsFormatException(string message)
        : base(message)
    {
    }

    public SafetensorsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static SafetensorsFormatException For(string source, string? tensor, string problem) =>
        new(tensor is null
            ? $"Invalid safetensors file '{source}': {problem}"
            : $"Invalid safetensors file '{source}', tensor '{tensor}': {problem}");
}
