using System.Diagnostics;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

/// <summary>A fact skipped, saying why, when <c>/usr/bin/python3</c> cannot import torch (Debian's python3-torch).</summary>
internal sealed class PyTorchAvailableFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(Probe);

    public PyTorchAvailableFactAttribute()
    {
        if (Missing.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? Probe()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is absent: install python3-torch to compare against PyTorch.";
        }

        using var process = Process.Start(new ProcessStartInfo(Python, "-c \"import torch\"") { RedirectStandardError = true, UseShellExecute = false });
        if (process is null)
        {
            return $"{Python} could not be started.";
        }

        process.WaitForExit();
        return process.ExitCode == 0 ? null : $"{Python} cannot import torch: install python3-torch to compare against PyTorch.";
    }
}
