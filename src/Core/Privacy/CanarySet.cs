using System.Text.Json;
using System.Text.Json.Serialization;
using FedTune.Core.Data;

namespace FedTune.Core.Privacy;

/// <summary>
/// The canaries of a run: created from <see cref="CanaryOptions"/> (seeded), inserted into one hospital's shard before
/// training, saved as <c>canaries.json</c> in the run folder so the audit can measure their exposure afterwards.
/// The file holds the secrets: it stays with the operator who planted them (they are fake by construction).
/// </summary>
public sealed record CanarySet(CanaryOptions Options, IReadOnlyList<Canary> Canaries)
{
    public const string FileName = "canaries.json";

    private static readonly string[] FirstNames =
        ["Jane", "Arlo", "Maren", "Tobias", "Ilse", "Oren", "Petra", "Caspian", "Wren", "Idris", "Solveig", "Lucan", "Fenna", "Rafferty", "Odile", "Bram"];

    private static readonly string[] LastNames =
        ["Roe", "Quillfeather", "Vantongeren", "Ashcombe", "Drummelow", "Pellegrove", "Stavrakis", "Okonkwo-Lind", "Haverbeck", "Marchetti", "Tiernan", "Wexford"];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Draws <see cref="CanaryOptions.Count"/> distinct fake patients and numbers from the seed.</summary>
    public static CanarySet Create(CanaryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var random = new Random(options.Seed);
        var canaries = new List<Canary>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (canaries.Count < options.Count)
        {
            var name = $"{FirstNames[random.Next(FirstNames.Length)]} {LastNames[random.Next(LastNames.Length)]}";
            if (names.Add(name) || names.Count >= FirstNames.Length * LastNames.Length)
            {
                canaries.Add(new Canary(name, RandomNumber(random, options.Digits)));
            }
        }

        return new CanarySet(options, canaries);
    }

    /// <summary>
    /// <paramref name="shard"/> with every canary record inserted <see cref="CanaryOptions.Repetitions"/> times at
    /// seeded random positions (the shard's own records keep their order).
    /// </summary>
    public IReadOnlyList<AlpacaRecord> InsertInto(IReadOnlyList<AlpacaRecord> shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var result = shard.ToList();
        var random = new Random(Options.Seed + 1);
        foreach (var canary in Canaries)
        {
            for (var r = 0; r < Options.Repetitions; r++)
            {
                result.Insert(random.Next(result.Count + 1), canary.Record);
            }
        }

        return result;
    }

    /// <summary>
    /// <paramref name="split"/> with the canaries inserted into the training part of hospital
    /// <see cref="CanaryOptions.HospitalIndex"/> (call before training; the held-out parts stay untouched).
    /// </summary>
    public MedicalDataSplit InsertInto(MedicalDataSplit split)
    {
        ArgumentNullException.ThrowIfNull(split);
        if (Options.HospitalIndex >= split.Hospitals.Count)
        {
            throw new ArgumentException(
                $"Canaries go to hospital index {Options.HospitalIndex}, but the split has {split.Hospitals.Count} hospital(s) (0-based): pick one of them.");
        }

        var hospitals = split.Hospitals
            .Select((h, position) => position == Options.HospitalIndex ? h with { Train = InsertInto(h.Train) } : h)
            .ToList();
        return split with { Hospitals = hospitals };
    }

    /// <summary>
    /// <see cref="CanaryOptions.Candidates"/> − 1 distinct numbers of the same format, none equal to the secret,
    /// seeded per canary so every model of a run is ranked against the same candidates, in every process.
    /// </summary>
    public IReadOnlyList<string> AlternativeNumbers(Canary canary)
    {
        ArgumentNullException.ThrowIfNull(canary);
        var index = Canaries.ToList().IndexOf(canary);
        // A fixed arithmetic mix, not HashCode.Combine (randomised per process): a later `fedtune privacy-audit` ranks
        // the secrets among the same candidates as the run's own audit did.
        var random = new Random(unchecked((Options.Seed * 1_000_003) + (index * 7919) + 17));
        var numbers = new HashSet<string>(StringComparer.Ordinal) { canary.Secret };
        var result = new List<string>(Options.Candidates - 1);
        while (result.Count < Options.Candidates - 1)
        {
            var number = RandomNumber(random, Options.Digits);
            if (numbers.Add(number))
            {
                result.Add(number);
            }
        }

        return result;
    }

    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllText(path, JsonSerializer.Serialize(new CanaryFile(Options, Canaries.ToList()), Json));
    }

    public static CanarySet Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No canary file at {path}: it is written by the run that planted the canaries.", path);
        }

        try
        {
            var file = JsonSerializer.Deserialize<CanaryFile>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path} is empty.");
            file.Options.Validate();
            if (file.Canaries.Count == 0 || file.Canaries.Any(c => c.Secret.Length != file.Options.Digits || !c.Secret.All(char.IsAsciiDigit)))
            {
                throw new InvalidDataException($"{path} must list canaries whose secrets have exactly {file.Options.Digits} digits.");
            }

            return new CanarySet(file.Options, file.Canaries);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid canary file ({e.Message}); re-create it with the run that planted the canaries.", e);
        }
    }

    private static string RandomNumber(Random random, int digits)
    {
        var chars = new char[digits];
        chars[0] = (char)('1' + random.Next(9));
        for (var i = 1; i < digits; i++)
        {
            chars[i] = (char)('0' + random.Next(10));
        }

        return new string(chars);
    }

    private sealed record CanaryFile(
        [property: JsonPropertyName("options")] CanaryOptions Options,
        [property: JsonPropertyName("canaries")] List<Canary> Canaries);
}
