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
/// <para>
/// While a training run is active (<see cref="ForTraining"/>) the heap keeps what a step frees for the next step:
/// blocks up to 64 MiB come from the heap and the heap is not trimmed below 256 MiB, so each step reuses the previous
/// step's memory instead of mapping, faulting in, zeroing and unmapping its 1-51 MB activations again (about 150,000
/// page faults per step at the pythia-70m shape, 4,500 with it; steps 1.80 → 1.48 s by medians). The heap's free
/// blocks fragment over many steps, so <see cref="AfterTrainingStep"/> trims them once the resident set has grown
/// <see cref="TrainingSlackBytes"/> past its size after the run's first step or the last trim (40 steps: at most 828 MiB, where it
/// grew to 1,156 MiB untrimmed). When the last training run ends, the fixed thresholds come back and the freed memory
/// goes back to the system, so a long-lived process does not keep it (docs/training-trainer.md).
/// </para>
/// </summary>
public static partial class NativeHeap
{
    /// <summary>The threshold FedTune sets: blocks at least this large are mmapped.</summary>
    public const int MmapThresholdBytes = 4 * 1024 * 1024;

    /// <summary>Blocks below this size come from the heap while a training run is active.</summary>
    public const int TrainingMmapThresholdBytes = 64 * 1024 * 1024;

    /// <summary>The free memory at the top of the heap that is kept, not trimmed, while a training run is active.</summary>
    public const int TrainingTrimThresholdBytes = 256 * 1024 * 1024;

    /// <summary>How far the resident set may grow past its size after a run's first step before the heap is trimmed.</summary>
    public const long TrainingSlackBytes = 96L * 1024 * 1024;

    private const int MallocTrimThreshold = -1; // M_TRIM_THRESHOLD in malloc.h
    private const int MallocMmapThreshold = -3; // M_MMAP_THRESHOLD in malloc.h
    private const int DefaultTrimThresholdBytes = 128 * 1024; // glibc's default M_TRIM_THRESHOLD

    private static readonly Lock TrainingGate = new();
    private static bool _fixedByUs;
    private static long _trainingBaselineBytes;
    private static long _trainingSteps;

    /// <summary>Training runs now inside <see cref="ForTraining"/> (0 when none).</summary>
    public static int ActiveTrainingRuns { get; private set; }

    /// <summary>Times <see cref="AfterTrainingStep"/> trimmed the heap in this process.</summary>
    public static int TrainingTrims { get; private set; }

    /// <summary>Training steps reported to <see cref="AfterTrainingStep"/> in this process.</summary>
    public static long TrainingStepsReported => Interlocked.Read(ref _trainingSteps);

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

            _fixedByUs = set;
            Description = set
                ? string.Create(CultureInfo.InvariantCulture, $"native heap: glibc mmap threshold fixed at {MmapThresholdBytes / 1048576} MiB")
                : "native heap: the C library's default (mallopt is not available)";
        }

        return Description;
    }

    /// <summary>
    /// The heap setting of one training run, until disposed: a step's freed blocks are kept for the next step (see the
    /// class summary). Nested and concurrent runs share it; the last one out restores the fixed thresholds and trims.
    /// A no-op unless <see cref="Configure"/> fixed the threshold in this process.
    /// </summary>
    public static IDisposable ForTraining()
    {
        lock (TrainingGate)
        {
            if (ActiveTrainingRuns++ == 0 && _fixedByUs)
            {
                _trainingBaselineBytes = 0;
                _ = NativeMethods.mallopt(MallocMmapThreshold, TrainingMmapThresholdBytes);
                _ = NativeMethods.mallopt(MallocTrimThreshold, TrainingTrimThresholdBytes);
            }
        }

        return new TrainingRun();
    }

    /// <summary>
    /// Called after each optimizer step of a training run. The heap's free blocks fragment over many steps (the step's
    /// allocations do not land in the same places each time): at the pythia-70m shape the resident set grew by about
    /// 12 MiB per step, 687 → 1,156 MiB over 40 steps. So once it is <see cref="TrainingSlackBytes"/> past its size
    /// after the run's first step (or the first step after the last trim), the free memory goes back to the system
    /// (<c>malloc_trim</c>) and the next step faults in what it needs again: one such step in about seven instead of
    /// every step. Growth that is not the heap's (the managed heap) leads to one trim, not one per step.
    /// </summary>
    public static void AfterTrainingStep()
    {
        Interlocked.Increment(ref _trainingSteps);
        if (!_fixedByUs || ActiveTrainingRuns == 0) return;
        long resident = ResidentBytes();
        if (resident <= 0) return;
        lock (TrainingGate)
        {
            if (ActiveTrainingRuns == 0) return;
            if (_trainingBaselineBytes == 0)
            {
                _trainingBaselineBytes = resident;
                return;
            }

            if (resident <= _trainingBaselineBytes + TrainingSlackBytes) return;
            _ = NativeMethods.malloc_trim(0);
            TrainingTrims++;
            _trainingBaselineBytes = 0; // the next step, with what it needs faulted in again, sets the new baseline
        }
    }

    /// <summary>This process's resident bytes (/proc/self/statm), or 0 where that cannot be read.</summary>
    private static long ResidentBytes()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long pages)
                ? pages * Environment.SystemPageSize
                : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private sealed class TrainingRun : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (TrainingGate)
            {
                if (--ActiveTrainingRuns != 0 || !_fixedByUs) return;
                _ = NativeMethods.mallopt(MallocMmapThreshold, MmapThresholdBytes);
                _ = NativeMethods.mallopt(MallocTrimThreshold, DefaultTrimThresholdBytes);
                // malloc_trim gives back the main arena's free memory, but not the free top of the arena of a thread
                // other than the main one (where a training run usually allocates); glibc trims that top when a block
                // of 64 KiB or more next goes back to it, so free one now, on the thread that ran the training.
                Marshal.FreeHGlobal(Marshal.AllocHGlobal(256 * 1024));
                _ = NativeMethods.malloc_trim(0);
            }
        }
    }

    private static partial class NativeMethods
    {
#pragma warning disable CA5392, SYSLIB1054 // libc is the system library; mallopt(3) and malloc_trim(3) take ints, nothing to marshal.
        [DllImport("libc")]
        internal static extern int mallopt(int param, int value);

        [DllImport("libc")]
        internal static extern int malloc_trim(nuint pad);
#pragma warning restore CA5392, SYSLIB1054
    }
}
