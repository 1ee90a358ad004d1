using Microsoft.Extensions.Configuration;

namespace FedTune.Cli.Commands;

/// <summary>
/// Merges `fedtune agent`'s named flags with its --settings file so neither silently wins: a flag that sets a key the
/// file also sets to something else is refused (name both, keep one), and a default (such as the work folder) applies
/// only when neither the file nor a flag sets the key.
/// </summary>
internal sealed class AgentFlagMerge
{
    private readonly IConfiguration? _file;
    private readonly string? _filePath;
    private readonly List<string> _args = [];

    public AgentFlagMerge(string? settingsFile)
    {
        if (string.IsNullOrWhiteSpace(settingsFile)) return;
        _filePath = Path.GetFullPath(settingsFile);
        if (!File.Exists(_filePath))
        {
            throw new ArgumentException($"The settings file '{_filePath}' does not exist. Fix: check the --settings path.");
        }
        try
        {
            _file = new ConfigurationBuilder().AddJsonFile(_filePath, optional: false, reloadOnChange: false).Build();
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"The settings file '{_filePath}' is not valid JSON: {e.InnerException?.Message ?? e.Message} Fix: correct the file.", e);
        }
        _args.Add("--settings");
        _args.Add(_filePath);
    }

    /// <summary>The agent's configuration arguments so far.</summary>
    public IReadOnlyList<string> Arguments => _args;

    /// <summary>True when the settings file sets <paramref name="key"/> (or anything under it).</summary>
    public bool FileSets(string key) => _file is not null && (_file[key] is not null || _file.GetSection(key).GetChildren().Any());

    /// <summary>Adds a value the user gave with <paramref name="flag"/>; refused when the settings file sets the key to something else.</summary>
    public void Flag(string flag, string key, string? value, bool isPath = false)
    {
        if (string.IsNullOrWhiteSpace(value)) return;
        if (_file?[key] is { } inFile)
        {
            bool same = isPath
                ? string.Equals(Path.GetFullPath(inFile), Path.GetFullPath(value), StringComparison.Ordinal)
                : string.Equals(inFile, value, StringComparison.OrdinalIgnoreCase);
            if (!same)
            {
                throw new ArgumentException(
                    $"{flag} {value} conflicts with {key} = {inFile} in the settings file '{_filePath}'. Fix: remove one of them (flags never silently override the settings file).");
            }
            return;
        }
        Add(key, value);
    }

    /// <summary>Adds <paramref name="value"/> for <paramref name="key"/> only when the settings file does not set the key.</summary>
    public void Default(string key, string value)
    {
        if (!FileSets(key)) Add(key, value);
    }

    /// <summary>Adds a configuration override as is (pass-through tokens).</summary>
    public void Raw(IEnumerable<string> tokens) => _args.AddRange(tokens);

    private void Add(string key, string value)
    {
        _args.Add("--" + key);
        _args.Add(value);
    }
}
