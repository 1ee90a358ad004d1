#nullable enable
// Compiled by MSBuild's RoslynCodeTaskFactory (see TorchSharpNativeFix.targets). Keep it self-contained.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class FedTuneWeakenGlibcxxNeed : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";

    public override bool Execute()
    {
        string? provider = FindLibStdCxxProviding(VersionName, out string? searched);
        if (provider != null)
        {
            Log.LogMessage(MessageImportance.Low, "FedTune: {0} provides {1}; libLibTorchSharp.so needs no patch.", provider, VersionName);
            return true;
        }
        foreach (var item in Files)
        {
            string path = item.GetMetadata("FullPath");
            try
            {
                byte[] bytes = File.ReadAllBytes(path);
                switch (Weaken(bytes, VersionName))
                {
                    case PatchResult.Patched:
                        string temp = path + ".fedtune-tmp";
                        File.WriteAllBytes(temp, bytes);
                        File.Delete(path);
                        File.Move(temp, path);
                        Log.LogMessage(MessageImportance.High,
                            "FedTune: this system's libstdc++ ({0}) lacks {1}; marked that version need weak in {2} so TorchSharp loads (the one symbol needing it, std::ios_base_library_init, is never called). See README, 'TorchSharp on older libstdc++'.",
                            searched ?? "not found", VersionName, path);
                        break;
                    case PatchResult.AlreadyWeak:
                        Log.LogMessage(MessageImportance.Low, "FedTune: {0} already has a weak {1} need.", path, VersionName);
                        break;
                    case PatchResult.NotNeeded:
                        Log.LogMessage(MessageImportance.Low, "FedTune: {0} does not need {1}.", path, VersionName);
                        break;
                }
            }
            catch (Exception ex) when (ex is IOException || ex is InvalidDataException || ex is UnauthorizedAccessException)
            {
                Log.LogError("FedTune: could not patch {0} for {1}: {2}. Install a libstdc++ that provides {1} (GCC 13+), or build with -p:FedTunePatchTorchSharp=false and see README, 'TorchSharp on older libstdc++'.", path, VersionName, ex.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    public enum PatchResult { Patched, AlreadyWeak, NotNeeded }

    /// <summary>Sets VER_FLG_WEAK on every Vernaux entry named <paramref name="version"/> (ELF64 little-endian).</summary>
    public static PatchResult Weaken(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");
        long shoff = (long)U64(elf, 0x28);
        int shentsize = U16(elf, 0x3A);
        int shnum = U16(elf, 0x3C);
        if (shentsize < 64 || shoff <= 0 || shoff + (long)shentsize * shnum > elf.Length)
            throw new InvalidDataException("section header table out of range");
        byte[] wanted = Encoding.ASCII.GetBytes(version);
        bool found = false, changed = false;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
            long secOff = (long)U64(elf, sh + 0x18);
            long secSize = (long)U64(elf, sh + 0x20);
            long link = U32(elf, sh + 0x28);
            long count = U32(elf, sh + 0x2C);
            if (secOff < 0 || secSize < 0 || secOff + secSize > elf.Length || link >= shnum)
                throw new InvalidDataException("verneed section out of range");
            long strSh = shoff + link * shentsize;
            long strOff = (long)U64(elf, strSh + 0x18);
            long strSize = (long)U64(elf, strSh + 0x20);
            if (strOff < 0 || strSize < 0 || strOff + strSize > elf.Length)
                throw new InvalidDataException("string table out of range");
            long need = secOff;
            for (long n = 0; n < count; n++)
            {
                if (need + 16 > secOff + secSize) throw new InvalidDataException("verneed entry out of range");
                int cnt = U16(elf, need + 2);
                long aux = need + U32(elf, need + 8);
                uint vnNext = U32(elf, need + 12);
                for (int a = 0; a < cnt; a++)
                {
                    if (aux + 16 > secOff + secSize) throw new InvalidDataException("vernaux entry out of range");
                    long name = U32(elf, aux + 8);
                    if (name < strSize && NameEquals(elf, strOff + name, strOff + strSize, wanted))
                    {
                        found = true;
                        ushort value = U16(elf, aux + 4);
                        if ((value & VerFlgWeak) == 0)
                        {
                            value |= VerFlgWeak;
                            elf[aux + 4] = (byte)(value & 0xff);
                            elf[aux + 5] = (byte)(value >> 8);
                            changed = true;
                        }
                    }
                    uint vnaNext = U32(elf, aux + 12);
                    if (vnaNext == 0) break;
                    aux += vnaNext;
                }
                if (vnNext == 0) break;
                need += vnNext;
            }
        }
        return !found ? PatchResult.NotNeeded : changed ? PatchResult.Patched : PatchResult.AlreadyWeak;
    }

    private static ushort U16(byte[] b, long at) => (ushort)(b[at] | (b[at + 1] << 8));
    private static uint U32(byte[] b, long at) => (uint)(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24));
    private static ulong U64(byte[] b, long at) => U32(b, at) | ((ulong)U32(b, at + 4) << 32);

    private static bool NameEquals(byte[] elf, long at, long end, byte[] wanted)
    {
        if (at + wanted.Length >= end) return false;
        for (int i = 0; i < wanted.Length; i++) if (elf[at + i] != wanted[i]) return false;
        return elf[at + wanted.Length] == 0;
    }

    private static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack[i] != needle[0]) continue;
            int j = 1;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    /// <summary>Returns the path of a system libstdc++ that defines the version, or null.</summary>
    private static string? FindLibStdCxxProviding(string version, out string? searched)
    {
        var candidates = new List<string>();
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                                    "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" })
        {
            string p = Path.Combine(dir, "libstdc++.so.6");
            if (File.Exists(p)) candidates.Add(p);
        }
        searched = candidates.Count > 0 ? string.Join(", ", candidates) : null;
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (var c in candidates)
        {
            byte[] bytes;
            try { bytes = File.ReadAllBytes(c); } catch (IOException) { continue; }
            if (Contains(bytes, needle)) return c;
        }
        return null;
    }
}
