namespace FedTune.Core.Data;

/// <summary>Layouts the Alpaca reader accepts.</summary>
public enum DatasetFileFormat
{
    /// <summary>Pick by extension (.json, .jsonl/.ndjson, .csv), else by the first non-blank character.</summary>
    Auto,

    /// <summary>One JSON array of objects.</summary>
    JsonArray,

    /// <summary>One JSON object per line; blank lines are skipped.</summary>
    JsonLines,

    /// <summary>Comma-separated values with a header row naming the columns (RFC 4180 quoting).</summary>
    Csv,
}
