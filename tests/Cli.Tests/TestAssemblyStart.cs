namespace FedTune.Cli.Tests;

internal static class TestAssemblyStart
{
    /// <summary>
    /// As the agent and fedtune do before their first matmul: MKL keeps the kernels it picks at this process's first
    /// matmul, and tests that train here must match the agents' processes bit for bit (MklCpuDispatch).
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void PrepareMkl() => FedTune.Training.Runtime.MklCpuDispatch.Prepare();
}
