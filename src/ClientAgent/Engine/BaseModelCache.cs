using System.Diagnostics;
using FedTune.ClientAgent.Configuration;
using FedTune.Core.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedTune.ClientAgent.Engine;

/// <summary>
/// The base model an agent keeps loaded between the tasks of one run (<see cref="ModelCacheOptions"/>): a task
/// <see cref="Take"/>s it (loading it when nothing fitting is kept), trains on it, and <see cref="Return"/>s it with its
/// LoRA branches removed, so the next task of the run attaches its global adapter to the model exactly as loaded. It is
/// let go when a task of another run, model folder, quantization or device arrives, when the machine runs low on memory,
/// after <see cref="ModelCacheOptions.IdleTimeout"/> without a task, after a task that failed, and when the agent stops.
/// At most one model is held, and never while another loads.
/// </summary>
public sealed partial class BaseModelCache : IDisposable
{
    private readonly ModelCacheOptions _settings;
    private readonly TimeProvider _time;
    private readonly Func<long> _availableMemory;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _loadsByRun = new(StringComparer.Ordinal);
    private LoadedBaseModel? _kept;
    private DateTimeOffset _keptSince;

    public BaseModelCache(IOptions<AgentOptions> options, TimeProvider time, ILogger<BaseModelCache> logger)
        : this(options?.Value.ModelCache ?? throw new ArgumentNullException(nameof(options)), time, logger, AvailableMemory.Bytes)
    {
    }

    /// <param name="settings">Whether to keep the model and when to let it go.</param>
    /// <param name="time">The clock of the idle timeout.</param>
    /// <param name="logger">Where keeping and letting go are logged.</param>
    /// <param name="availableMemory">Bytes the machine can still give (<see cref="AvailableMemory.Bytes"/>).</param>
    public BaseModelCache(ModelCacheOptions settings, TimeProvider time, ILogger logger, Func<long> availableMemory)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _availableMemory = availableMemory ?? throw new ArgumentNullException(nameof(availableMemory));
    }

    /// <summary>A cache that never keeps a model (each task loads its own): for one-off training outside the agent.</summary>
    public static BaseModelCache Disabled(ILogger logger) =>
        new(new ModelCacheOptions { Enabled = false }, TimeProvider.System, logger, AvailableMemory.Bytes);

    /// <summary>True while a model is kept for the next task.</summary>
    public bool IsHolding
    {
        get
        {
            lock (_gate) return _kept is not null;
        }
    }

    /// <summary>Base-model loads this process made for <paramref name="runId"/>.</summary>
    public int LoadsFor(string runId)
    {
        lock (_gate) return _loadsByRun.GetValueOrDefault(runId);
    }

    /// <summary>
    /// The kept model when it was loaded for <paramref name="key"/>; otherwise whatever is kept is let go first and
    /// <paramref name="load"/> loads a new one. The caller owns the model until it calls <see cref="Return"/>.
    /// </summary>
    public TakenBaseModel Take(BaseModelKey key, Func<LoadedBaseModel> load)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(load);
        LoadedBaseModel? kept;
        lock (_gate)
        {
            kept = _kept;
            _kept = null;
        }

        if (kept is not null)
        {
            if (kept.Key == key)
            {
                LogReused(_logger, key.RunId, key.Quantization);
                return new TakenBaseModel(kept, Loaded: false, LoadSeconds: 0, LoadsThisRun: LoadsFor(key.RunId));
            }

            string why = Difference(kept.Key, key);
            LogReleased(_logger, kept.Key.RunId, why);
            kept.Dispose();
        }

        var watch = Stopwatch.StartNew();
        var loaded = load();
        int loads;
        lock (_gate)
        {
            loads = _loadsByRun[key.RunId] = _loadsByRun.GetValueOrDefault(key.RunId) + 1;
        }

        return new TakenBaseModel(loaded, Loaded: true, LoadSeconds: watch.Elapsed.TotalSeconds, LoadsThisRun: loads);
    }

    /// <summary>
    /// Hands a taken model back after its task. When the task completed (<paramref name="reusable"/>), the cache is on
    /// and memory allows, its LoRA branches are removed and it is kept for the run's next task; otherwise it is disposed.
    /// </summary>
    public void Return(TakenBaseModel taken, bool reusable)
    {
        ArgumentNullException.ThrowIfNull(taken);
        var model = taken.Model;
        string? why = !_settings.Enabled ? null
            : !reusable ? "the task did not complete"
            : LowMemory() is { } low ? low
            : null;
        if (!_settings.Enabled || why is not null)
        {
            if (why is not null) LogReleased(_logger, model.Key.RunId, why);
            model.Dispose();
            return;
        }

        try
        {
            model.Model.DetachAdapters();
        }
        catch
        {
            model.Dispose();
            throw;
        }

        LoadedBaseModel? previous;
        lock (_gate)
        {
            previous = _kept;
            _kept = model;
            _keptSince = _time.GetUtcNow();
        }

        previous?.Dispose();
    }

    /// <summary>Lets the kept model go when it has been idle past the timeout or memory runs low (the agent calls this between polls).</summary>
    public void Trim()
    {
        LoadedBaseModel? kept;
        string? why;
        lock (_gate)
        {
            if (_kept is null) return;
            why = _time.GetUtcNow() - _keptSince >= _settings.IdleTimeout
                ? $"no task for {_settings.IdleTimeout} (ModelCache:IdleTimeout)"
                : LowMemory();
            if (why is null) return;
            kept = _kept;
            _kept = null;
        }

        LogReleased(_logger, kept.Key.RunId, why);
        kept.Dispose();
    }

    /// <summary>Lets the kept model go (the agent is stopping).</summary>
    public void Clear()
    {
        LoadedBaseModel? kept;
        lock (_gate)
        {
            kept = _kept;
            _kept = null;
        }

        if (kept is null) return;
        LogReleased(_logger, kept.Key.RunId, "the agent is stopping");
        kept.Dispose();
    }

    public void Dispose() => Clear();

    private string? LowMemory()
    {
        long available = _availableMemory();
        long minimum = (long)_settings.MinAvailableMemoryMiB * 1024 * 1024;
        return available < minimum
            ? $"only {available / (1024 * 1024)} MiB of memory is available (ModelCache:MinAvailableMemoryMiB {_settings.MinAvailableMemoryMiB})"
            : null;
    }

    private static string Difference(BaseModelKey kept, BaseModelKey wanted) =>
        kept.RunId != wanted.RunId ? $"a task of run {wanted.RunId} arrived"
        : kept.Quantization != wanted.Quantization ? $"the recipe asks for quantization {wanted.Quantization}"
        : kept.Device != wanted.Device ? $"the task trains on {wanted.Device}"
        : "the model folder changed";

    [LoggerMessage(Level = LogLevel.Information, Message = "Reusing the base model kept from the previous task of run {RunId} ({Quantization}); not loading it again")]
    private static partial void LogReused(ILogger logger, string runId, BaseQuantization quantization);

    [LoggerMessage(Level = LogLevel.Information, Message = "Letting go of the base model kept for run {RunId}: {Why}")]
    private static partial void LogReleased(ILogger logger, string runId, string why);
}
