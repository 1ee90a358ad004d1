namespace FedTune.Core.Configuration;

/// <summary>
/// A configuration file is invalid. The message has the form
/// <c>file:line:column: key 'a.b': problem. Expected ... [Did you mean 'x'?]</c>.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException()
    {
    }

    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ConfigException(string source, int line, int column, string? keyPath, string problem, Exception? inner = null)
        : base(Format(source, line, column, keyPath, problem), inner)
    {
        SourceName = source;
        Line = line;
        Column = column;
        KeyPath = keyPath;
    }

    /// <summary>The file (or name given to <see cref="FedTuneConfigLoader.Parse"/>).</summary>
    public string? SourceName { get; }

    /// <summary>1-based line of the offending node.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending node.</summary>
    public int Column { get; }

    /// <summary>Dotted key path, e.g. <c>model.lora.peft_lora_r</c>.</summary>
    public string? KeyPath { get; }

    private static string Format(string source, int line, int column, string? keyPath, string problem) =>
        keyPath is null
            ? $"{source}:{line}:{column}: {problem}"
            : $"{source}:{line}:{column}: key '{keyPath}': {problem}";
}
