using Xunit;

// libtorch's random generator is process-global (seeding, kaiming init, dropout), so tests that assert
// seeded determinism must not interleave with other torch tests; serial runs also keep libtorch's own thread
// pool from oversubscribing the CPU.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
