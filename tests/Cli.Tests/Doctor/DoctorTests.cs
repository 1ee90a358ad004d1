using System.Diagnostics;
using FedTune.Cli.Doctor;
using FedTune.Core.Storage;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Cli.Tests.Doctor;

/// <summary>Each doctor check, broken on purpose, fails with a fix; healthy, it passes.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class DoctorTests(AzuriteFixture azurite)
{
    private static string PatchedLibrary =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private static string UnpatchedLibraryInNuGetCache
    {
        get
        {
            string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            return Path.Combine(cache, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        }
    }

    /// <summary>The version strings a libstdc++ of GCC's line carries, GLIBCXX_3.4 up to GLIBCXX_3.4.newest.</summary>
    private static byte[] FakeLibStdCxx(int newest) =>
        System.Text.Encoding.ASCII.GetBytes("GLIBCXX_3.4\0" + string.Concat(Enumerable.Range(1, newest).Select(i => $"GLIBCXX_3.4.{i}\0")));

    [Fact]
    public void TorchSharp_check_fails_with_a_fix_for_an_unpatched_library_on_a_libstdcxx_without_GLIBCXX_3_4_32()
    {
        using var temp = new TempDirectory();
        string oldLibStdCxx = temp.File("libstdc++.so.6");
        File.WriteAllBytes(oldLibStdCxx, FakeLibStdCxx(newest: 31));

        var result = DoctorChecks.TorchSharpLibrary(new DoctorOptions
        {
            TorchSharpLibrary = UnpatchedLibraryInNuGetCache,
            LibStdCxxCandidates = [oldLibStdCxx],
        });

        Assert.False(result.Ok);
        Assert.Contains("GLIBCXX_3.4.32", result.Detail, StringComparison.Ordinal);
        Assert.Contains("scripts/bootstrap.sh", result.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void The_build_marks_the_GLIBCXX_3_4_32_need_weak_exactly_when_this_system_lacks_it()
    {
        bool systemHasIt = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }
            .Where(File.Exists)
            .Any(f => File.ReadAllBytes(f).AsSpan().IndexOf("GLIBCXX_3.4.32\0"u8) >= 0);

        var need = ElfVersionNeeds.Read(PatchedLibrary).Single(n => n.Version == "GLIBCXX_3.4.32");
        var result = DoctorChecks.TorchSharpLibrary(new DoctorOptions { TorchSharpLibrary = PatchedLibrary });

        Assert.Equal(!systemHasIt, need.Weak);
        Assert.True(result.Ok, result.Detail);
    }

    [Fact]
    public void TorchSharp_check_passes_for_an_unpatched_library_when_libstdcxx_has_the_version()
    {
        using var temp = new TempDirectory();
        string newLibStdCxx = temp.File("libstdc++.so.6");
        File.WriteAllBytes(newLibStdCxx, FakeLibStdCxx(newest: 33));

        var result = DoctorChecks.TorchSharpLibrary(new DoctorOptions { TorchSharpLibrary = UnpatchedLibraryInNuGetCache, LibStdCxxCandidates = [newLibStdCxx] });

        Assert.True(result.Ok, result.Detail);
    }

    [Fact]
    public void TorchSharp_check_fails_with_a_fix_when_the_library_is_missing_or_not_ELF()
    {
        using var temp = new TempDirectory();
        string notElf = temp.File("libLibTorchSharp.so");
        File.WriteAllText(notElf, "this is not a shared library");

        var missing = DoctorChecks.TorchSharpLibrary(new DoctorOptions { TorchSharpLibrary = temp.File("absent.so") });
        var corrupt = DoctorChecks.TorchSharpLibrary(new DoctorOptions { TorchSharpLibrary = notElf });

        Assert.False(missing.Ok);
        Assert.Contains("missing", missing.Detail, StringComparison.Ordinal);
        Assert.NotNull(missing.Fix);
        Assert.False(corrupt.Ok);
        Assert.NotNull(corrupt.Fix);
    }

    [Fact]
    public void TorchSharp_really_loads_and_runs_backward_here()
    {
        var result = DoctorChecks.TorchSharpRuns();
        Assert.True(result.Ok, result.Detail);
    }

    [Fact]
    public void Azurite_check_fails_with_a_fix_when_the_tools_folder_was_never_installed()
    {
        using var bareCheckout = new TempDirectory();
        var result = DoctorChecks.Azurite(new DoctorOptions { RepositoryRoot = bareCheckout.Path });
        Assert.False(result.Ok);
        Assert.Contains("bootstrap.sh", result.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Azurite_check_passes_in_this_checkout()
    {
        var result = DoctorChecks.Azurite(new DoctorOptions { RepositoryRoot = TestPaths.RepositoryRoot });
        Assert.True(result.Ok, result.Detail);
    }

    [Fact]
    public async Task Storage_check_fails_with_a_fix_when_the_configured_storage_does_not_answer()
    {
        int closedPort = AzuriteProcess.FreeTcpPort();
        var options = new DoctorOptions { StorageConnectionString = AzuriteProcess.ConnectionStringFor(closedPort, closedPort, closedPort) };

        var result = await DoctorChecks.StorageAsync(options, CancellationToken.None);

        Assert.False(result.Ok);
        Assert.Contains("FEDTUNE_STORAGE", result.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storage_check_writes_and_reads_a_blob_in_reachable_storage()
    {
        var result = await DoctorChecks.StorageAsync(new DoctorOptions { StorageConnectionString = azurite.ConnectionString }, CancellationToken.None);
        Assert.True(result.Ok, result.Detail);
    }

    [Fact]
    public void Data_check_fails_with_a_fix_for_a_missing_folder_and_for_malformed_records()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("broken.json"), "[{\"instruction\": \"x\", \"input\": \"q\"");
        using var wrongShape = new TempDirectory();
        File.WriteAllText(wrongShape.File("records.json"), "[{\"question\": \"q\", \"answer\": \"a\"}]");

        var missing = DoctorChecks.MedicalData(new DoctorOptions { DataDirectory = Path.Combine(temp.Path, "nope") });
        var malformed = DoctorChecks.MedicalData(new DoctorOptions { DataDirectory = temp.Path });
        var shape = DoctorChecks.MedicalData(new DoctorOptions { DataDirectory = wrongShape.Path });

        Assert.False(missing.Ok);
        Assert.Contains("FEDTUNE_DATA", missing.Fix, StringComparison.Ordinal);
        Assert.False(malformed.Ok);
        Assert.Contains("not valid JSON", malformed.Detail, StringComparison.Ordinal);
        Assert.False(shape.Ok);
        Assert.Contains("input", shape.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_check_counts_the_records_of_a_valid_folder()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("records.json"),
            "[{\"instruction\": \"Answer this question truthfully\", \"input\": \"What causes gout?\", \"output\": \"Uric acid crystals.\"}]");
        var result = DoctorChecks.MedicalData(new DoctorOptions { DataDirectory = temp.Path });
        Assert.True(result.Ok, result.Detail);
        Assert.Contains("1 records", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fedtune_doctor_command_exits_non_zero_and_prints_the_fix_when_a_check_fails()
    {
        string fedtune = Path.Combine(AppContext.BaseDirectory, "fedtune.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(fedtune);
        psi.ArgumentList.Add("doctor");
        psi.ArgumentList.Add("--data-dir");
        psi.ArgumentList.Add("/nonexistent/fedtune-data");
        using var process = Process.Start(psi)!;
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "fedtune doctor did not finish in 2 minutes");

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("[FAIL] Medical data", output, StringComparison.Ordinal);
        Assert.Contains("fix:", output, StringComparison.Ordinal);
        Assert.Contains("[ ok ] TorchSharp forward/backward", output, StringComparison.Ordinal);
    }
}
