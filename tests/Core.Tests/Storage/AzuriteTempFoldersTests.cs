using FedTune.Core.Storage;

namespace FedTune.Core.Tests.Storage;

/// <summary>A private Azurite's temporary data folder does not outlive a kill -9 of its owner for longer than the next start.</summary>
public sealed class AzuriteTempFoldersTests
{
    [Fact]
    public void A_folder_whose_owner_was_killed_is_deleted_at_the_next_start_and_a_live_owners_folder_is_kept()
    {
        var live = AzuriteTempFolders.Create();
        // The same stamp a killed owner leaves: a pid and start time that no running process has.
        var abandoned = Path.Combine(Path.GetTempPath(), AzuriteTempFolders.Prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(abandoned, "blob"));
        File.WriteAllText(Path.Combine(abandoned, "fedtune-owner.pid"), "2147483646 12345");
        try
        {
            Assert.True(AzuriteTempFolders.DeleteAbandoned() >= 1);

            Assert.False(Directory.Exists(abandoned));
            Assert.True(Directory.Exists(live));
        }
        finally
        {
            AzuriteTempFolders.Delete(live);
            AzuriteTempFolders.Delete(abandoned);
        }
    }
}
