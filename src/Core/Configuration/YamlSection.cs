using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace FedTune.Core.Configuration;

/// <summary>
/// A YAML mapping being read into typed values. Each read marks the key as known; <see cref="RejectUnknownKeys"/>
/// then reports any other key with the nearest valid one. Keys may be spelt with '-' or '_' (TOML/Flower style).
/// </summary>
internal sealed class YamlSection
{
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public YamlSection(YamlMappingNode node, string path, string source)
    {
        Node = node;
        Path = path;
        Source = source;
        foreach (var (keyNode, value) in node.Children)
        {
            if (keyNode is not YamlScalarNode { Value: not null } scalar)
            {
                throw new ConfigException(source, Line(keyNode), Column(keyNode), path.Length == 0 ? null : path, "keys must be plain names.");
            }

            var key = Normalize(scalar.Value!);
            if (!_entries.TryAdd(key, (scalar, value)))
            {
                throw new ConfigException(source, Line(keyNode), Column(keyNode), Join(path, key), "the key appears twice in this section; keep one.");
            }
        }
    }

    public YamlMappingNode Node { get; }

    public string Path { get; }

    public string Source { get; }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static int Line(YamlNode node) => (int)node.Start.Line;

    public static int Column(YamlNode node) => (int)node.Start.Column;

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any } s
        && (s.Value is null || s.Value.Length == 0 || s.Value is "~" or "null" or "Null" or "NULL");

    public bool Has(string key)
    {
        _known.Add(key);
        return _entries.ContainsKey(key);
    }

    /// <summary>The raw node for <paramref name="key"/> (null when absent), marking the key known.</summary>
    public YamlNode? Raw(string key)
    {
        _known.Add(key);
        return _entries.TryGetValue(key, out var entry) ? entry.Value : null;
    }

    public ConfigException Error(string key, string problem)
    {
        var node = _entries.TryGetValue(key, out var entry) ? entry.Value : Node;
        return new ConfigException(Source, Line(node), Column(node), Join(Path, key), problem);
    }

    public ConfigException MissingError(string key, string expected) =>
        new(Source, Line(Node), Column(Node), Join(Path, key), $"this required key is missing from '{(Path.Length == 0 ? "the top level" : Path)}'. Expected {expected}.");

    public YamlSection? Section(string key, bool required = false)
    {
        var node = Raw(key);
        if (node is null || IsNull(node))
        {
            if (required)
            {
                throw new ConfigException(Source, Line(Node), Column(Node), Join(Path, key),
                    $"the required section '{key}:' is missing. Add it (see docs/core.md for its keys).");
            }

            return null;
        }

        return node is YamlMappingNode mapping
            ? new YamlSection(mapping, Join(Path, key), Source)
            : throw Error(key, $"expected a section (indented 'key: value' lines), got {Describe(node)}.");
    }

    public string? String(string key, string? fallback = null)
    {
        var node = Raw(key);
        if (node is null || IsNull(node))
        {
            return fallback;
        }

        return node is YamlScalarNode scalar ? scalar.Value : throw Error(key, $"expected a text value, got {Describe(node)}.");
    }

    public string RequiredString(string key, string expected)
    {
        var value = String(key);
        return string.IsNullOrWhiteSpace(value)
            ? throw (Has(key) ? Error(key, $"must not be empty. Expected {expected}.") : MissingError(key, expected))
            : value;
    }

    public bool Bool(string key, bool fallback)
    {
        var node = Raw(key);
        if (node is null || IsNull(node))
        {
            return fallback;
        }

        return (node as YamlScalarNode)?.Value?.ToLowerInvariant() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => throw Error(key, $"expected true or false, got {Describe(node)}."),
        };
    }

    public int? NullableInt(string key, int? fallback, int min, int max)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        if (IsNull(node))
        {
            return null;
        }

        if (node is not YamlScalarNode scalar || !int.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(key, $"expected a whole number between {min} and {max}, got {Describe(node)}.");
        }

        return value < min || value > max
            ? throw Error(key, $"{value} is out of range; expected a whole number between {min} and {max}.")
            : value;
    }

    public int Int(string key, int fallback, int min, int max = int.MaxValue) =>
        NullableInt(key, fallback, min, max) ?? throw Error(key, $"must not be null; expected a whole number between {min} and {max}.");

    public double? NullableDouble(string key, double? fallback, double min, double max, bool minExclusive = false, bool maxExclusive = false)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        if (IsNull(node))
        {
            return null;
        }

        var range = $"{(minExclusive ? "(" : "[")}{Text(min)}, {Text(max)}{(maxExclusive ? ")" : "]")}";
        if (node is not YamlScalarNode scalar
            || !double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value))
        {
            throw Error(key, $"expected a number in {range}, got {Describe(node)}.");
        }

        var tooLow = minExclusive ? value <= min : value < min;
        var tooHigh = maxExclusive ? value >= max : value > max;
        return tooLow || tooHigh ? throw Error(key, $"{Text(value)} is out of range; expected a number in {range}.") : value;
    }

    public double Double(string key, double fallback, double min, double max, bool minExclusive = false, bool maxExclusive = false) =>
        NullableDouble(key, fallback, min, max, minExclusive, maxExclusive)
        ?? throw Error(key, "must not be null; expected a number.");

    /// <summary>A list of strings; a single string becomes a one-item list; null stays null.</summary>
    public IReadOnlyList<string>? StringList(string key, IReadOnlyList<string>? fallback)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        switch (node)
        {
            case var _ when IsNull(node):
                return null;
            case YamlScalarNode scalar:
                return [scalar.Value!];
            case YamlSequenceNode sequence:
                return sequence.Children.Select(item => item is YamlScalarNode { Value: { Length: > 0 } v } && !IsNull(item)
                    ? v
                    : throw Error(key, $"every item must be a text value, got {Describe(item)} at line {Line(item)}.")).ToArray();
            default:
                throw Error(key, $"expected a list of names, got {Describe(node)}.");
        }
    }

    public TEnum Enum<TEnum>(string key, TEnum fallback, IReadOnlyDictionary<string, TEnum> spellings)
        where TEnum : struct, System.Enum
    {
        var text = String(key);
        if (text is null)
        {
            return fallback;
        }

        if (spellings.TryGetValue(text.ToLowerInvariant(), out var value))
        {
            return value;
        }

        var nearest = KeySuggestions.Nearest(text, spellings.Keys);
        throw Error(key, $"'{text}' is not valid; expected one of {string.Join(", ", spellings.Keys)}.{(nearest is null ? string.Empty : $" Did you mean '{nearest}'?")}");
    }

    /// <summary>Throws for the first key no reader asked for, suggesting the nearest valid key.</summary>
    public void RejectUnknownKeys()
    {
        foreach (var (key, (keyNode, _)) in _entries)
        {
            if (_known.Contains(key))
            {
                continue;
            }

            var nearest = KeySuggestions.Nearest(key, _known);
            var hint = nearest is null ? $" Valid keys here: {string.Join(", ", _known.Order(StringComparer.Ordinal))}." : $" Did you mean '{nearest}'?";
            throw new ConfigException(Source, Line(keyNode), Column(keyNode), Join(Path, key), $"unknown key.{hint}");
        }
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s when IsNull(s) => "null",
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a section",
        _ => node.NodeType.ToString(),
    };

    private static string Normalize(string key) => key.Replace('-', '_');

    private static string Text(double value) => value.ToString("G", CultureInfo.InvariantCulture);
}
