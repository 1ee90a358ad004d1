using System.Globalization;

namespace FedTune.Core.Storage;

/// <summary>
/// The temporary data folders of private Azurite instances (<c>fedtune-azurite-*</c> in the temp folder). Each records
/// its owner's pid; a folder whose owner is gone (a kill -9 skipped the cleanup) is deleted by the next start, so
/// killed runs do not leave folders behind for ever.
/// </summary>
public static class AzuriteTempFolders
{
    public const string Prefix = "fedtune-azurite-";
    private const string OwnerFile = "fedtune-owner.pid";

    /// <summary>Creates a new folder owned by this process.</summary>
    public static string Create()
    {
        var path = Path.Combine(Path.GetTempPath(), Prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, OwnerFile), OwnerStamp(Environment.ProcessId));
        return path;
    }

    /// <summary>Deletes the folders whose owner process is gone; returns how many.</summary>
    public static int DeleteAbandoned()
    {
        int deleted = 0;
        string[] folders;
        try
        {
            folders = Directory.GetDirectories(Path.GetTempPath(), Prefix + "*");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (var folder in folders)
        {
            if (IsAbandoned(folder) && Delete(folder)) deleted++;
        }
        return deleted;
    }

    /// <summary>Deletes <paramref name="path"/>; false when something still holds it.</summary>
    public static bool Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // Azurite may still hold a file for a moment; the next start deletes it.
        }
    }

    /// <summary>True when the folder's owner (pid and start time) is no longer running.</summary>
    internal static bool IsAbandoned(string folder)
    {
        string stamp;
        try
        {
            stamp = File.ReadAllText(Path.Combine(folder, OwnerFile)).Trim();
        }
        catch (FileNotFoundException)
        {
            // Left by an older version: abandoned when untouched for a day.
            return Directory.GetLastWriteTimeUtc(folder) < DateTime.UtcNow.AddDays(-1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        var pidText = stamp.Split(' ')[0];
        if (!int.TryParse(pidText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)) return false;
        return !string.Equals(OwnerStamp(pid), stamp, StringComparison.Ordinal);
    }

    // "pid starttime" (the process's start time from /proc, so a reused pid is not mistaken for the owner).
    private static string OwnerStamp(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var start = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
            return pid.ToString(CultureInfo.InvariantCulture) + " " + start;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return OperatingSystem.IsLinux() ? "gone" : pid.ToString(CultureInfo.InvariantCulture);
        }
    }
}
