using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Trainer;

/// <summary>
/// A small binary file of named float32/uint8 tensors for trainer checkpoints: magic "FTNT1", count, then per tensor
/// name, dtype, rank, shape and little-endian data. Written to a temporary file and moved into place.
/// </summary>
internal static class NamedTensorFile
{
    private const string Magic = "FTNT1";

    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var temporary = path + ".tmp";
        using (var stream = File.Create(temporary))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            var list = tensors.ToList();
            writer.Write(Magic);
            writer.Write(list.Count);
            foreach (var (name, tensor) in list)
            {
                using var cpu = tensor.detach().cpu();
                var isBytes = cpu.dtype == ScalarType.Byte;
                using var data = isBytes ? cpu.contiguous() : cpu.to_type(ScalarType.Float32).contiguous();
                writer.Write(name);
                writer.Write(isBytes ? (byte)1 : (byte)0);
                writer.Write(data.shape.Length);
                foreach (var dimension in data.shape)
                {
                    writer.Write(dimension);
                }

                if (isBytes)
                {
                    writer.Write(data.data<byte>().ToArray());
                }
                else
                {
                    var values = data.data<float>().ToArray();
                    var bytes = new byte[values.Length * sizeof(float)];
                    Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
                    writer.Write(bytes);
                }
            }
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads every tensor onto the CPU; the caller owns (disposes) them.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        if (reader.ReadString() != Magic)
        {
            throw new InvalidDataException($"'{path}' is not a FedTune trainer checkpoint file: delete the checkpoint folder to start fresh.");
        }

        var count = reader.ReadInt32();
        var result = new Dictionary<string, Tensor>(count, StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var isBytes = reader.ReadByte() == 1;
            var shape = new long[reader.ReadInt32()];
            for (int d = 0; d < shape.Length; d++)
            {
                shape[d] = reader.ReadInt64();
            }

            var elements = shape.Aggregate(1L, (a, b) => a * b);
            if (isBytes)
            {
                result[name] = torch.tensor(reader.ReadBytes((int)elements), shape, ScalarType.Byte).DetachFromDisposeScope();
            }
            else
            {
                var bytes = reader.ReadBytes((int)(elements * sizeof(float)));
                var values = new float[elements];
                Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
                result[name] = torch.tensor(values, shape).DetachFromDisposeScope();
            }
        }

        return result;
    }
}
