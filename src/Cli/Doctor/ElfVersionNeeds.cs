using System.Buffers.Binary;
using System.Text;

namespace FedTune.Cli.Doctor;

/// <summary>
/// Reads the version needs (.gnu.version_r) of an ELF64 little-endian shared library: which symbol versions it
/// requires from which library, and whether each need is weak. The build marks libLibTorchSharp.so's
/// GLIBCXX_3.4.32 need weak on systems whose libstdc++ lacks it (build/TorchSharpNativeFix.targets).
/// </summary>
public static class ElfVersionNeeds
{
    public sealed record Need(string Library, string Version, bool Weak);

    private const uint ShtGnuVerneed = 0x6ffffffe;

    public static IReadOnlyList<Need> Read(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file.");
        var span = elf.AsSpan();
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        if (shentsize < 64 || shoff <= 0 || shoff + (long)shentsize * shnum > elf.Length)
            throw new InvalidDataException($"{path}: section header table out of range.");
        var needs = new List<Need>();
        for (int i = 0; i < shnum; i++)
        {
            var sh = span.Slice((int)(shoff + (long)i * shentsize), 64);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;
            long secOff = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]);
            long secEnd = secOff + (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x20..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]);
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x2C..]);
            if (secEnd > elf.Length || link >= shnum) throw new InvalidDataException($"{path}: version needs out of range.");
            var strSh = span.Slice((int)(shoff + (long)link * shentsize), 64);
            long strOff = (long)BinaryPrimitives.ReadUInt64LittleEndian(strSh[0x18..]);
            long strEnd = strOff + (long)BinaryPrimitives.ReadUInt64LittleEndian(strSh[0x20..]);
            if (strEnd > elf.Length) throw new InvalidDataException($"{path}: string table out of range.");
            long need = secOff;
            for (int n = 0; n < count && need + 16 <= secEnd; n++)
            {
                int cnt = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(need + 2)..]);
                string library = ReadString(span, strOff + BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(need + 4)..]), strEnd);
                long aux = need + BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(need + 8)..]);
                for (int a = 0; a < cnt && aux + 16 <= secEnd; a++)
                {
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(aux + 4)..]);
                    string version = ReadString(span, strOff + BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(aux + 8)..]), strEnd);
                    needs.Add(new Need(library, version, (flags & 0x2) != 0));
                    uint next = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(aux + 12)..]);
                    if (next == 0) break;
                    aux += next;
                }
                uint vnNext = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(need + 12)..]);
                if (vnNext == 0) break;
                need += vnNext;
            }
        }
        return needs;
    }

    private static string ReadString(ReadOnlySpan<byte> elf, long at, long end)
    {
        if (at < 0 || at >= end) return "";
        var rest = elf[(int)at..(int)end];
        int zero = rest.IndexOf((byte)0);
        return Encoding.ASCII.GetString(zero < 0 ? rest : rest[..zero]);
    }
}
