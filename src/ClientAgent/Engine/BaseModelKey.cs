using System.Globalization;
using FedTune.Core.Configuration;
using TorchSharp;

namespace FedTune.ClientAgent.Engine;

/// <summary>
/// What a kept base model must match to serve a task (<see cref="BaseModelCache"/>): the run, the model folder and its
/// files as they are on disk (names, sizes, modification times), the recipe's quantization and the device.
/// </summary>
public sealed record BaseModelKey(string RunId, string ModelFolder, string FilesStamp, BaseQuantization Quantization, string Device)
{
    public static BaseModelKey For(string runId, string modelFolder, BaseQuantization quantization, torch.Device device)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentException.ThrowIfNullOrEmpty(modelFolder);
        ArgumentNullException.ThrowIfNull(device);
        var folder = Path.GetFullPath(modelFolder);
        return new BaseModelKey(runId, folder, Stamp(folder), quantization, device.ToString());
    }

    private static string Stamp(string folder)
    {
        if (!Directory.Exists(folder)) return "";
        return string.Join(';', new DirectoryInfo(folder).EnumerateFiles()
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}")));
    }
}
