using System.Runtime.InteropServices;
using FedTune.Core.Processes;
using Xunit;

namespace FedTune.Core.Tests.Processes;

public sealed partial class NativeHeapTests
{
    private const int Block = 8 * 1024 * 1024;

    [Fact]
    public void After_configuring_a_large_native_block_freed_and_allocated_again_is_still_mmapped()
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
    }

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
