using System.Runtime.InteropServices;
using FedTune.Core.Processes;
using Xunit;

namespace FedTune.Core.Tests.Processes;

/// <summary>Reads this process's resident set and mallinfo around its own allocations: no other test may allocate meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessHeapMeasurements
{
    public const string Name = nameof(ProcessHeapMeasurements);
}

[Collection(ProcessHeapMeasurements.Name)]
public sealed partial class NativeHeapTests
{
    private const int Block = 8 * 1024 * 1024;

    [Fact]
    public void A_large_block_freed_and_allocated_again_stays_mmapped_except_during_a_training_run_which_keeps_it_for_the_next_step()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is { Length: > 0 }) return;

        Assert.Equal("native heap: glibc mmap threshold fixed at 4 MiB", NativeHeap.Configure());

        // glibc's default would raise its threshold past 8 MiB when the first block is freed and serve the second
        // from the heap, where it is not given back; with the fixed threshold the second is mmapped too.
        Marshal.FreeHGlobal(Marshal.AllocHGlobal(Block));
        long before = MmappedBytes();
        nint second = Marshal.AllocHGlobal(Block);
        try
        {
            Assert.True(MmappedBytes() - before >= Block, $"the second 8 MiB block is not mmapped ({MmappedBytes() - before} more mmapped bytes)");
        }
        finally
        {
            Marshal.FreeHGlobal(second);
        }

        // One test, in this order: the training run below leaves free heap blocks that an 8 MiB request could reuse.
        During_a_training_run_freed_blocks_stay_for_the_next_step_and_are_given_back_when_it_ends();
    }

    private static void During_a_training_run_freed_blocks_stay_for_the_next_step_and_are_given_back_when_it_ends()
    {
        const int blocks = 8; // 64 MiB in 8 MiB blocks, each written so that its pages are resident
        const long half = blocks * (long)Block / 2;
        long residentWithFreedBlocks;
        using (NativeHeap.ForTraining())
        {
            using (NativeHeap.ForTraining())
            {
                Assert.Equal(2, NativeHeap.ActiveTrainingRuns);
            }

            // Still one run: the nested one leaving does not restore the thresholds.
            Assert.Equal(1, NativeHeap.ActiveTrainingRuns);
            long mmapped = MmappedBytes();
            long baseline = ResidentBytes();
            var allocated = Enumerable.Range(0, blocks).Select(_ => Touch(Marshal.AllocHGlobal(Block))).ToList();
            Assert.True(MmappedBytes() - mmapped < Block, "8 MiB blocks were mmapped during a training run");
            foreach (var block in allocated) Marshal.FreeHGlobal(block);
            residentWithFreedBlocks = ResidentBytes();
            Assert.True(residentWithFreedBlocks - baseline >= half,
                $"only {(residentWithFreedBlocks - baseline) / 1048576} MiB of the 64 MiB freed stayed for the next step");

            // The first step sets the baseline; a resident set past it by more than the slack is trimmed after a step.
            NativeHeap.AfterTrainingStep();
            int trims = NativeHeap.TrainingTrims;
            NativeHeap.AfterTrainingStep();
            Assert.Equal(trims, NativeHeap.TrainingTrims);
            // More than the slack past the freed blocks, which these reuse first.
            var held = Enumerable.Range(0, (int)((NativeHeap.TrainingSlackBytes / Block) + blocks + 4)).Select(_ => Touch(Marshal.AllocHGlobal(Block))).ToList();
            NativeHeap.AfterTrainingStep();
            Assert.Equal(trims + 1, NativeHeap.TrainingTrims);
            // Memory the heap cannot give back (still held) leads to one trim, not one per step: the next step is the new baseline.
            NativeHeap.AfterTrainingStep();
            NativeHeap.AfterTrainingStep();
            Assert.Equal(trims + 1, NativeHeap.TrainingTrims);
            foreach (var block in held) Marshal.FreeHGlobal(block);
            allocated = Enumerable.Range(0, blocks).Select(_ => Touch(Marshal.AllocHGlobal(Block))).ToList();
            foreach (var block in allocated) Marshal.FreeHGlobal(block);
            residentWithFreedBlocks = ResidentBytes();
        }

        Assert.Equal(0, NativeHeap.ActiveTrainingRuns);
        long afterRun = ResidentBytes();
        Assert.True(residentWithFreedBlocks - afterRun >= half,
            $"only {(residentWithFreedBlocks - afterRun) / 1048576} MiB of the 64 MiB freed went back to the system when the run ended");
    }

    private static nint Touch(nint block)
    {
        for (int offset = 0; offset < Block; offset += 4096) Marshal.WriteByte(block, offset, 1);
        return block;
    }

    /// <summary>Resident bytes of this process (/proc/self/statm, in pages).</summary>
    private static long ResidentBytes() =>
        long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;

    private static long MmappedBytes() => (long)NativeMethods.mallinfo2().hblkhd;

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    private static partial class NativeMethods
    {
        [DllImport("libc")]
#pragma warning disable CA5392, SYSLIB1054
        internal static extern MallInfo2 mallinfo2();
#pragma warning restore CA5392, SYSLIB1054
    }
}
