using Xunit;

namespace FedTune.Cli.Tests;

/// <summary>
/// Tests that time a real federation against its own live output (the fault matrix, the dashboard watched while a
/// run goes): they run alone, after the parallel collections, so that other suites' processes on a 2-core machine
/// cannot make them miss the moment they wait for.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WholeMachineTests
{
    public const string Name = "Whole machine (run alone)";
}
