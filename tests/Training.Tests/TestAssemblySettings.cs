using Xunit;

// libtorch's random generator is process-global (seeding, kaiming init, dropout), so tests that assert
// seeded determinism must not interleave with other torch tests; serial runs also keep libtorch's own thread
// pool from oversubscribing the CPU.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace FedTune.Training.Tests
{
    internal static class TestAssemblyStart
    {
        /// <summary>
        /// As the agent and fedtune do at start: MKL picks its kernels at this process's first matmul, and a test that
        /// multiplies before building a model would otherwise leave the rest on MKL's AMD path (MklCpuDispatch).
        /// </summary>
        [System.Runtime.CompilerServices.ModuleInitializer]
        internal static void PrepareMkl() => FedTune.Training.Runtime.MklCpuDispatch.Prepare();
    }
}
