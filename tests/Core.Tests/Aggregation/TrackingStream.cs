namespace FedTune.Core.Tests.Aggregation;

/// <summary>A read-only memory stream that reports when it is disposed (tests count the updates open at once).</summary>
internal sealed class TrackingStream(byte[] bytes, Action onDispose) : MemoryStream(bytes, writable: false)
{
    private bool _disposed;

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            onDispose();
        }

        base.Dispose(disposing);
    }
}
