using YamlDotNet.Core;

namespace FedTune.Core.Configuration;

/// <summary>
/// Turns YAML syntax problems into one-line errors at the right place with the fix: tabs in the indentation (found
/// before parsing, at their own line and column), duplicate keys, and indentation that breaks a mapping.
/// </summary>
internal static class YamlErrorHints
{
    /// <summary>Throws for the first tab used as indentation (YAML allows only spaces there).</summary>
    public static void RejectTabIndentation(string yaml, string source)
    {
        int line = 1;
        int column = 1;
        bool leading = true;
        foreach (var c in yaml)
        {
            if (c == '\n')
            {
                line++;
                column = 1;
                leading = true;
                continue;
            }
            if (leading && c == '\t')
            {
                throw new ConfigException(source, line, column, null,
                    "a tab in the indentation; YAML indents with spaces only. Fix: replace the tab with spaces (two per level, like the lines around it).");
            }
            if (c is not ' ' and not '\r') leading = false;
            column++;
        }
    }

    /// <summary>The error for a YamlDotNet exception: its position and message, plus the fix for the common cases.</summary>
    public static ConfigException Explain(YamlException ex, string source)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var message = ex.Message.Trim();
        string fix =
            message.Contains("Duplicate key", StringComparison.OrdinalIgnoreCase)
                ? " Fix: a key may appear once per section; delete or merge the repeated one."
            : message.Contains("could not find expected ':'", StringComparison.OrdinalIgnoreCase) ||
              message.Contains("not allowed in this context", StringComparison.OrdinalIgnoreCase) ||
              message.Contains("did not find expected key", StringComparison.OrdinalIgnoreCase) ||
              message.Contains("block end", StringComparison.OrdinalIgnoreCase) ||
              message.Contains("invalid mapping", StringComparison.OrdinalIgnoreCase)
                ? " Fix: indent this line exactly like the other keys of its section (spaces only), and write each key as 'name: value'."
            : "";
        return new ConfigException(source, (int)ex.Start.Line, (int)ex.Start.Column, null, $"not valid YAML: {message}{fix}", ex);
    }
}
