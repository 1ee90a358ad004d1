using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TorchSharp;

namespace FedTune.Training.Runtime;

/// <summary>
/// Lets the MKL inside TorchSharp's libtorch use its AVX-512 matmul kernels on AMD CPUs that have AVX-512 (Zen 4 and
/// later). MKL picks its kernels by CPU vendor first: on any non-Intel CPU it takes its "Zen" AVX2 path, whatever the
/// CPU supports. On this project's Zen 4 machines that path ran the training step's matmuls at 105-160 GFLOP/s where
/// MKL's AVX-512 path ran the same calls at 135-210 (docs/training-trainer.md, "MKL's kernels on AMD").
/// <para>
/// MKL asks one function, <c>mkl_serv_intel_cpu_true</c>, whether the CPU is Intel, and caches the answer in a flag
/// the function reads first (-1 = not asked yet). <see cref="Prepare"/> sets that flag to "Intel" before MKL's first
/// call, so MKL chooses among its Intel paths by the CPU's feature bits, which is the same check it makes on Intel CPUs
/// (this is what the widely used <c>LD_PRELOAD</c> of a <c>mkl_serv_intel_cpu_true</c> returning 1 does). It acts
/// only when every condition holds: x64 Linux, an AMD CPU whose AVX-512 F, BW, DQ and VL the runtime reports usable,
/// libtorch's <c>libtorch_cpu.so</c> loaded with the exact instruction sequence expected at that function, the flag
/// inside that library's writable data, and MKL not having asked yet. Anything else leaves MKL as shipped and says
/// why. <c>FEDTUNE_MKL_AVX512=0</c> turns it off. MKL caches its kernel choice at its first matmul, so this must run
/// before any: the model's constructor and the matmul peak call it, and so do the agent and <c>fedtune</c> at start.
/// </para>
/// </summary>
public static class MklCpuDispatch
{
    /// <summary>The environment variable that turns the AVX-512 dispatch off when set to 0.</summary>
    public const string SwitchVariable = "FEDTUNE_MKL_AVX512";

    private const string IntelCheck = "mkl_serv_intel_cpu_true";
    private static readonly Lock Gate = new();
    private static string? _description;

    /// <summary>True when <see cref="Prepare"/> set MKL's vendor flag (its AVX-512 kernels are in use).</summary>
    public static bool Avx512Enabled { get; private set; }

    /// <summary>What <see cref="Prepare"/> did, for a log line; null before it ran.</summary>
    public static string? Description => _description;

    /// <summary>Lets MKL use its AVX-512 kernels where that applies (once per process); returns the line describing MKL's kernels.</summary>
    public static string Prepare()
    {
        if (_description is { } done) return done;
        lock (Gate)
        {
            if (_description is null)
            {
                string description;
                try
                {
                    description = Apply();
                }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or IOException or UnauthorizedAccessException or BadImageFormatException)
                {
                    description = "MKL: as shipped (" + e.GetType().Name + " while looking for libtorch: " + e.Message + ")";
                }

                _description = description;
            }

            return _description;
        }
    }

    /// <summary>Why this process's MKL keeps its shipped kernel choice, or null when the AVX-512 dispatch applies here (AMD, AVX-512, x64 Linux, not switched off).</summary>
    public static string? NotApplicable()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return "MKL: as shipped (its AVX-512 dispatch on AMD is set up on x64 Linux only)";
        if (!IsAmd())
            return "MKL: as shipped (not an AMD CPU: MKL picks its kernels by itself)";
        if (!(Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported))
            return "MKL: its AMD AVX2 kernels (this CPU or OS has no usable AVX-512)";
        if (Environment.GetEnvironmentVariable(SwitchVariable) == "0")
            return "MKL: its AMD AVX2 kernels (" + SwitchVariable + "=0)";
        return null;
    }

    private static string Apply()
    {
        if (NotApplicable() is { } reason) return reason;

        _ = torch.get_num_threads(); // loads libtorch if nothing has yet
        using var check = LibtorchExport.Open(IntelCheck, out string whyNot);
        if (check is null) return "MKL: as shipped (" + whyNot + ")";
        long flag = CachedFlagAddress(check.Address);
        if (flag == 0) return "MKL: as shipped (" + IntelCheck + " is not the expected code; libtorch changed)";
        if (!check.Library.WritableRanges.Any(r => flag >= r.Start && flag + sizeof(int) <= r.End))
            return "MKL: as shipped (" + IntelCheck + "'s flag is outside libtorch's writable data)";
        int current = Marshal.ReadInt32((nint)flag);
        if (current == 0) return "MKL: its AMD AVX2 kernels (MKL had already chosen them before this process could lift its vendor check)";
        if (current < 0) Marshal.WriteInt32((nint)flag, 1);
        Avx512Enabled = true;
        return "MKL: AVX-512 kernels on this AMD CPU (MKL's Intel-only check lifted; " + SwitchVariable + "=0 turns this off)";
    }

    /// <summary>
    /// The address of the flag the function at <paramref name="check"/> returns when it is not negative, read from its
    /// first instructions: <c>mov eax, [rip + d]; test eax, eax; js +1; ret</c>. Zero when the code is anything else.
    /// </summary>
    private static long CachedFlagAddress(nint check)
    {
        var code = new byte[11];
        Marshal.Copy(check, code, 0, code.Length);
        bool expected = code[0] == 0x8B && code[1] == 0x05 // mov eax, [rip + disp32]
            && code[6] == 0x85 && code[7] == 0xC0 // test eax, eax
            && code[8] == 0x78 && code[9] == 0x01 // js +1
            && code[10] == 0xC3; // ret
        if (!expected) return 0;
        int displacement = BitConverter.ToInt32(code, 2);
        return check + 6 + displacement;
    }

    private static bool IsAmd()
    {
        if (!X86Base.IsSupported) return false;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<byte> vendor = stackalloc byte[12];
        BitConverter.TryWriteBytes(vendor, ebx);
        BitConverter.TryWriteBytes(vendor[4..], edx);
        BitConverter.TryWriteBytes(vendor[8..], ecx);
        return vendor.SequenceEqual("AuthenticAMD"u8);
    }

    private sealed record LoadedLibrary(string Path, IReadOnlyList<(long Start, long End)> WritableRanges);

    /// <summary>libtorch_cpu.so as this process mapped it: its path and its writable mappings (/proc/self/maps).</summary>
    private static LoadedLibrary? LoadedLibtorchCpu()
    {
        string? path = null;
        var writable = new List<(long, long)>();
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            // start-end perms offset dev inode path
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6) continue;
            string file = parts[5].Trim();
            if (!file.EndsWith("/libtorch_cpu.so", StringComparison.Ordinal)) continue;
            path ??= file;
            if (!string.Equals(file, path, StringComparison.Ordinal) || parts[1].Length < 2 || parts[1][1] != 'w') continue;
            var range = parts[0].Split('-');
            writable.Add((long.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                long.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }

        return path is null ? null : new LoadedLibrary(path, writable);
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int IntFunction();

    /// <summary>MKL's automatic code branch (MKL_CBWR_AVX512 = 12, MKL_CBWR_AVX512_E1 = 14 on AVX-512 paths); null when it cannot be asked.</summary>
    public static int? AutoBranch()
    {
        using var function = LibtorchExport.Open("mkl_serv_cbwr_get_auto_branch", out _);
        return function is null ? null : Marshal.GetDelegateForFunctionPointer<IntFunction>(function.Address)();
    }

    /// <summary>An export of the libtorch_cpu.so this process loaded, the library held open until disposed.</summary>
    private sealed class LibtorchExport : IDisposable
    {
        private readonly nint _handle;

        private LibtorchExport(LoadedLibrary library, nint handle, nint address)
        {
            Library = library;
            _handle = handle;
            Address = address;
        }

        public LoadedLibrary Library { get; }
        public nint Address { get; }

        /// <summary>The export <paramref name="name"/>, or null with <paramref name="whyNot"/> saying why.</summary>
        public static LibtorchExport? Open(string name, out string whyNot)
        {
            var library = LoadedLibtorchCpu();
            if (library is null)
            {
                whyNot = "libtorch_cpu.so is not loaded";
                return null;
            }

            if (!NativeLibrary.TryLoad(library.Path, out var handle))
            {
                whyNot = "libtorch_cpu.so could not be opened";
                return null;
            }

            if (!NativeLibrary.TryGetExport(handle, name, out var address))
            {
                NativeLibrary.Free(handle);
                whyNot = "this libtorch has no " + name;
                return null;
            }

            whyNot = "";
            return new LibtorchExport(library, handle, address);
        }

        public void Dispose() => NativeLibrary.Free(_handle);
    }
}
