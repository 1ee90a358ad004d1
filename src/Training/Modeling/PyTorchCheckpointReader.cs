using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using FedTune.Core.Formats;

namespace FedTune.Training.Modeling;

/// <summary>
/// Reads the tensors of a <c>pytorch_model.bin</c> written by <c>torch.save(state_dict)</c> (the zip format of PyTorch ≥ 1.6)
/// without running Python: a minimal unpickler that understands only what a state dict contains (dicts, OrderedDict,
/// tuples, numbers, strings, <c>torch._utils._rebuild_tensor_v2</c>/<c>_rebuild_parameter</c> and storages named by
/// persistent ids). Any other object is refused, so a hostile pickle cannot run code. Float tensors only.
/// </summary>
public sealed class PyTorchCheckpointReader : IDisposable
{
    private readonly ZipArchive _zip;
    private readonly string _prefix;
    private readonly Dictionary<string, TensorRecord> _tensors;
    private Dictionary<string, long[]>? _shapes;

    private PyTorchCheckpointReader(string path, ZipArchive zip)
    {
        Source = path;
        _zip = zip;
        var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
            ?? throw new InvalidDataException($"{path} is a zip without data.pkl; it is not a torch.save checkpoint.");
        _prefix = pickle.FullName[..^"data.pkl".Length];
        using var stream = pickle.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var root = new Unpickler(buffer.ToArray(), path).Load();
        if (root is not OrderedMap map)
            throw new InvalidDataException($"{path} does not hold a state dict (a mapping of names to tensors).");
        _tensors = new Dictionary<string, TensorRecord>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Items)
        {
            if (key is string name && value is TensorRecord tensor)
                _tensors[name] = tensor;
        }
    }

    public string Source { get; }

    /// <summary>Tensor names and shapes.</summary>
    public IReadOnlyDictionary<string, long[]> Shapes => _shapes ??= _tensors.ToDictionary(p => p.Key, p => p.Value.Shape, StringComparer.Ordinal);

    public static PyTorchCheckpointReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException(
                $"{path} is not a zip-format torch checkpoint (legacy pre-1.6 pickles are not read); re-save it with torch ≥ 1.6 or convert it to model.safetensors.", e);
        }

        try
        {
            return new PyTorchCheckpointReader(path, zip);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>The tensor's values as float32 in row-major order (strides honoured).</summary>
    public float[] ReadFloat32(string name)
    {
        if (!_tensors.TryGetValue(name, out var tensor))
            throw new KeyNotFoundException($"{Source} has no tensor '{name}'.");
        var entry = _zip.GetEntry(_prefix + "data/" + tensor.Storage.Key)
            ?? throw new InvalidDataException($"{Source}: storage '{tensor.Storage.Key}' of '{name}' is missing.");
        byte[] bytes;
        using (var stream = entry.Open())
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            bytes = buffer.ToArray();
        }

        var dtype = tensor.Storage.DType!.Value;
        int size = SafetensorsDTypes.SizeOf(dtype);
        long count = tensor.Shape.Aggregate(1L, (a, b) => a * b);
        var result = new float[count];
        var index = new long[tensor.Shape.Length];
        for (long i = 0; i < count; i++)
        {
            long element = tensor.Offset;
            for (int d = 0; d < index.Length; d++) element += index[d] * tensor.Stride[d];
            long at = element * size;
            if (at < 0 || at + size > bytes.Length)
                throw new InvalidDataException($"{Source}: tensor '{name}' reaches past its storage.");
            result[i] = ToFloat(dtype, bytes.AsSpan((int)at, size));
            for (int d = index.Length - 1; d >= 0; d--)
            {
                if (++index[d] < tensor.Shape[d]) break;
                index[d] = 0;
            }
        }

        return result;
    }

    public void Dispose() => _zip.Dispose();

    private static float ToFloat(SafetensorsDType dtype, ReadOnlySpan<byte> bytes) => dtype switch
    {
        SafetensorsDType.F32 => BinaryPrimitives.ReadSingleLittleEndian(bytes),
        SafetensorsDType.F16 => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes)),
        SafetensorsDType.BF16 => BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes) << 16),
        _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes),
    };

    private sealed record GlobalName(string Module, string Name);

    private sealed record StorageRecord(string Key, SafetensorsDType? DType);

    private sealed record TensorRecord(StorageRecord Storage, long Offset, long[] Shape, long[] Stride);

    private sealed class OrderedMap
    {
        public List<KeyValuePair<object?, object?>> Items { get; } = [];
    }

    private sealed class Mark;

    /// <summary>The subset of the pickle protocol (0-4) that torch.save uses for state dicts.</summary>
    private sealed class Unpickler(byte[] data, string source)
    {
        private readonly List<object?> _stack = [];
        private readonly Dictionary<long, object?> _memo = [];
        private int _position;

        public object? Load()
        {
            while (true)
            {
                byte op = Byte();
                switch (op)
                {
                    case 0x80: Byte(); break; // PROTO
                    case 0x95: _position += 8; break; // FRAME
                    case (byte)'}': Push(new OrderedMap()); break;
                    case (byte)']': Push(new List<object?>()); break;
                    case (byte)')': Push(Array.Empty<object?>()); break;
                    case (byte)'(': Push(new Mark()); break;
                    case (byte)'N': Push(null); break;
                    case 0x88: Push(true); break;
                    case 0x89: Push(false); break;
                    case (byte)'K': Push((long)Byte()); break;
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                    case 0x8a: Push(Long1()); break;
                    case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                    case (byte)'X': Push(Encoding.UTF8.GetString(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))))); break;
                    case 0x8c: Push(Encoding.UTF8.GetString(Take(Byte()))); break;
                    case (byte)'T': Push(Encoding.Latin1.GetString(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))))); break;
                    case (byte)'U': Push(Encoding.Latin1.GetString(Take(Byte()))); break;
                    case (byte)'q': _memo[Byte()] = Peek(); break;
                    case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                    case 0x94: _memo[_memo.Count] = Peek(); break;
                    case (byte)'h': Push(Memo(Byte())); break;
                    case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                    case (byte)'c': Push(new GlobalName(Line(), Line())); break;
                    case 0x93: { var name = (string)Pop()!; Push(new GlobalName((string)Pop()!, name)); break; } // STACK_GLOBAL
                    case (byte)'t': Push(PopToMark().ToArray()); break;
                    case 0x85: Push(new[] { Pop() }); break;
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                    case (byte)'Q': Push(PersistentLoad(Pop())); break;
                    case (byte)'R': { var args = (object?[])Pop()!; Push(Reduce(Pop(), args)); break; }
                    case (byte)'s': { var value = Pop(); var key = Pop(); ((OrderedMap)Peek()!).Items.Add(new(key, value)); break; }
                    case (byte)'u':
                        {
                            var items = PopToMark();
                            var map = (OrderedMap)Peek()!;
                            for (int i = 0; i + 1 < items.Count; i += 2) map.Items.Add(new(items[i], items[i + 1]));
                            break;
                        }

                    case (byte)'a': { var value = Pop(); ((List<object?>)Peek()!).Add(value); break; }
                    case (byte)'e': { var items = PopToMark(); ((List<object?>)Peek()!).AddRange(items); break; }
                    case (byte)'b': Pop(); break; // BUILD: state such as OrderedDict._metadata is not needed
                    case (byte)'.': return Pop();
                    default:
                        throw new InvalidDataException($"{source}: pickle opcode 0x{op:X2} at byte {_position - 1} is not part of a plain state dict.");
                }
            }
        }

        private StorageRecord PersistentLoad(object? pid)
        {
            if (pid is not object?[] { Length: >= 5 } parts || parts[0] as string != "storage" || parts[1] is not GlobalName type || parts[2] is not string key)
                throw new InvalidDataException($"{source}: unexpected persistent id in the pickle.");
            var dtype = type.Name switch
            {
                "FloatStorage" => SafetensorsDType.F32,
                "HalfStorage" => SafetensorsDType.F16,
                "BFloat16Storage" => SafetensorsDType.BF16,
                "DoubleStorage" => SafetensorsDType.F64,
                _ => (SafetensorsDType?)null,
            };
            return new StorageRecord(key, dtype);
        }

        private object? Reduce(object? callable, object?[] args)
        {
            if (callable is not GlobalName global)
                throw new InvalidDataException($"{source}: the pickle calls something that is not a named function.");
            switch ($"{global.Module}.{global.Name}")
            {
                case "collections.OrderedDict":
                    return new OrderedMap();
                case "torch._utils._rebuild_tensor_v2":
                    {
                        var storage = (StorageRecord)args[0]!;
                        if (storage.DType is null)
                            return null; // non-float tensors (e.g. integer buffers) are not weights
                        return new TensorRecord(storage, (long)args[1]!, Longs(args[2]), Longs(args[3]));
                    }

                case "torch._utils._rebuild_parameter":
                    return args[0];
                default:
                    throw new InvalidDataException(
                        $"{source}: the pickle calls {global.Module}.{global.Name}, which a plain state dict never does; refusing to read it.");
            }
        }

        private static long[] Longs(object? tuple) => ((object?[])tuple!).Select(v => (long)v!).ToArray();

        private long Long1()
        {
            int length = Byte();
            var bytes = Take(length);
            long value = 0;
            for (int i = length - 1; i >= 0; i--) value = (value << 8) | bytes[i];
            if (length > 0 && (bytes[length - 1] & 0x80) != 0 && length < 8) value -= 1L << (8 * length);
            return value;
        }

        private object? Memo(long key) =>
            _memo.TryGetValue(key, out var value) ? value : throw new InvalidDataException($"{source}: pickle memo {key} is undefined.");

        private string Line()
        {
            int end = Array.IndexOf(data, (byte)'\n', _position);
            if (end < 0) throw new InvalidDataException($"{source}: truncated pickle.");
            var text = Encoding.ASCII.GetString(data, _position, end - _position);
            _position = end + 1;
            return text;
        }

        private byte Byte() => _position < data.Length ? data[_position++] : throw new InvalidDataException($"{source}: truncated pickle.");

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || _position + count > data.Length) throw new InvalidDataException($"{source}: truncated pickle.");
            var span = data.AsSpan(_position, count);
            _position += count;
            return span;
        }

        private void Push(object? value) => _stack.Add(value);

        private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw new InvalidDataException($"{source}: malformed pickle (empty stack).");

        private object? Pop()
        {
            var value = Peek();
            _stack.RemoveAt(_stack.Count - 1);
            return value;
        }

        private List<object?> PopToMark()
        {
            int mark = _stack.FindLastIndex(v => v is Mark);
            if (mark < 0) throw new InvalidDataException($"{source}: malformed pickle (no mark).");
            var items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
            _stack.RemoveRange(mark, _stack.Count - mark);
            return items;
        }
    }
}
