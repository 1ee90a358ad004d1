using System.Globalization;

namespace FedTune.ClientAgent.Engine;

/// <summary>
/// Memory the machine can still give to processes, for <see cref="BaseModelCache"/>'s guard. Linux: /proc/meminfo's
/// MemAvailable, lowered to what the process's cgroup v2 limit leaves (containers); elsewhere the runtime's view at its
/// last garbage collection (total available minus the memory load).
/// </summary>
public static class AvailableMemory
{
    public static long Bytes()
    {
        if (OperatingSystem.IsLinux() && Linux() is { } linux) return linux;
        var info = GC.GetGCMemoryInfo();
        return Math.Max(0, info.TotalAvailableMemoryBytes - info.MemoryLoadBytes);
    }

    private static long? Linux()
    {
        try
        {
            long? available = null;
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var kib = line["MemAvailable:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                available = long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
                break;
            }

            if (available is null) return null;
            if (CgroupValue("memory.max") is { } max && CgroupValue("memory.current") is { } current)
                available = Math.Min(available.Value, Math.Max(0, max - current));
            return available;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>A number from the cgroup v2 file of this process's group (null when absent or "max").</summary>
    private static long? CgroupValue(string file)
    {
        var path = Path.Combine("/sys/fs/cgroup", file);
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path).Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
    }
}
