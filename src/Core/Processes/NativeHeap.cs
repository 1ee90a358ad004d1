using System.Globalization;
using System.Runtime.InteropServices;

namespace FedTune.Core.Processes;

/// <summary>
/// Fixes glibc's mmap threshold for processes that train or score with libtorch (the agent, <c>fedtune</c>).
/// glibc starts at 128 KiB and raises the threshold to the size of every mmapped block that is freed (up to 32 MiB),
/// so after the first training step libtorch's activations (1-8 MiB each at the pythia-70m shape) come from the
/// heap, where freed blocks fragment and are not given back. A fixed 4 MiB threshold keeps those large blocks
/// mmapped (returned to the system on free) and the small ones on the heap: one training step's peak RSS at the
/// pythia-70m shape fell from about 800 to 650-680 MiB, at the same speed (docs/training-trainer.md).
/// A MALLOC_MMAP_THRESHOLD_ set in the environment wins; a no-op outside glibc Linux.
/// </summary>
public static partial class NativeHeap
{
    /// <summary>The threshold FedTune sets: blocks at least this large are mmapped.</summary>
    public const int MmapThresholdBytes = 4 * 1024 * 1024;

    private const int MallocMmapThreshold = -3; // M_MMAP_THRESHOLD in malloc.h

    /// <summary>What <see cref="Configure"/> did, for a log line; null before it ran.</summary>
    public static string? Description { get; private set; }

    /// <summary>Sets the fixed threshold once per process; returns the line describing the heap setting.</summary>
    public static string Configure()
    {
        if (Description is { } done) return done;
        string? fromEnvironment = Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_");
        if (!OperatingSystem.IsLinux())
        {
            Description = "native heap: the system's allocator (the mmap threshold is set on glibc Linux only)";
        }
        else if (!string.IsNullOrEmpty(fromEnvironment))
        {
            Description = "native heap: glibc mmap threshold " + fromEnvironment + " bytes (MALLOC_MMAP_THRESHOLD_)";
        }
        else
        {
            bool set;
            try
            {
                set = NativeMethods.mallopt(MallocMmapThreshold, MmapThresholdBytes) == 1;
            }
            catch (EntryPointNotFoundException)
            {
                set = false; // not glibc (e.g. musl)
            }

            Description = set
                ? string.Create(CultureInfo.InvariantCulture, $"native heap: glibc mmap threshold fixed at {MmapThresholdBytes / 1048576} MiB")
                : "native heap: the C library's default (mallopt is not available)";
        }

        return Description;
    }

    private static partial class NativeMethods
    {
        [DllImport("libc")]
#pragma warning disable CA5392, SYSLIB1054 // libc is the system library; mallopt(3) takes two ints, nothing to marshal.
        internal static extern int mallopt(int param, int value);
#pragma warning restore CA5392, SYSLIB1054
    }
}
