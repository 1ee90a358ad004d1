using FedTune.Core.Adapters;
using FedTune.Core.Compression;
using FedTune.Core.Formats;
using FedTune.ClientAgent.Work;

namespace FedTune.ClientAgent.Execution;

/// <summary>
/// Re-encodes the trained adapter file in the precision the task asks for (<see cref="Core.Configuration.TrainingRecipe.WirePrecision"/>)
/// before it is hashed and uploaded. Idempotent: a file already in that precision is left as it is, so a restart
/// between encoding and the next saved phase uploads the same bytes.
/// </summary>
internal static class UploadEncoder
{
    public static void EncodeInPlace(string adapterFile, WirePrecision precision, long seed)
    {
        byte[] original = File.ReadAllBytes(adapterFile);
        using var stream = new MemoryStream(original, writable: false);
        using (var reader = SafetensorsReader.Open(stream, leaveOpen: true, adapterFile))
        {
            if (CompressedAdapterWire.PrecisionOf(reader) == precision)
            {
                return;
            }
        }

        stream.Position = 0;
        var adapter = AdapterWireFormat.Read(stream, adapterFile);
        TaskWorkFolder.WriteAtomic(adapterFile, CompressedAdapterWire.ToBytes(adapter, precision, seed));
    }
}
