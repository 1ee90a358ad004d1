namespace FedTune.Cli.Doctor;

/// <summary>Where the doctor looks. Every path can be overridden, which is how its tests break each check on purpose.</summary>
public sealed record DoctorOptions
{
    /// <summary>The checkout (holds FedTune.Cloud.sln and tools/azurite); null when fedtune runs outside one.</summary>
    public string? RepositoryRoot { get; init; }

    /// <summary>The medical data folder (default ../shared/data/medical-meadow beside the checkout).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>A storage connection string to check instead of starting a private Azurite.</summary>
    public string? StorageConnectionString { get; init; }

    /// <summary>The libLibTorchSharp.so to inspect (default: the one beside the running fedtune).</summary>
    public string? TorchSharpLibrary { get; init; }

    /// <summary>The libstdc++ to compare against (default: the system's).</summary>
    public IReadOnlyList<string>? LibStdCxxCandidates { get; init; }
}
