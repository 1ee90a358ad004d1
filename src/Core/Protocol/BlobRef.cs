namespace FedTune.Core.Protocol;

/// <summary>A blob's address inside the storage account: container and blob name (never a URL with a secret).</summary>
public sealed record BlobRef(string Container, string Name)
{
    public override string ToString() => $"{Container}/{Name}";
}

/// <summary>A content blob with its SHA-256 (lowercase hex) and size, as passed between the orchestrator and agents.</summary>
public sealed record ContentRef(BlobRef Blob, string Sha256, long Bytes);
