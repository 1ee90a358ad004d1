using System.Globalization;
using Microsoft.Extensions.Logging;

namespace FedTune.Orchestration.Local;

/// <summary>
/// Writes the local host's log lines (the Durable Task provider, sidecar, worker and upload watcher) at or above a
/// level to one file, one line per entry plus the exception's stack trace: where a failed run's cause is found when the
/// sidecar reports none (<c>orchestrator.log</c> in a simulation's run folder or the benchmark's working folder).
/// </summary>
public sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly StreamWriter _writer;
    private readonly LogLevel _minimum;
    private readonly Lock _gate = new();
    private bool _disposed;

    public FileLoggerProvider(string path, LogLevel minimum = LogLevel.Warning)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        _minimum = minimum;
        LogPath = path;
    }

    /// <summary>The file written to.</summary>
    public string LogPath { get; }

    /// <summary>A logger factory writing to <paramref name="path"/> (the caller disposes it, which closes the file).</summary>
    public static ILoggerFactory CreateFactory(string path, LogLevel minimum = LogLevel.Warning)
    {
        var factory = new LoggerFactory();
        factory.AddProvider(new FileLoggerProvider(path, minimum));
        return factory;
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    private void Write(string category, LogLevel level, string message, Exception? exception)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:O} {level} {category}: {message}");
        lock (_gate)
        {
            if (_disposed) return;
            _writer.WriteLine(line);
            if (exception != null) _writer.WriteLine(exception.ToString());
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _writer.Dispose();
        }
    }

    private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            ArgumentNullException.ThrowIfNull(formatter);
            owner.Write(category, logLevel, formatter(state, exception), exception);
        }
    }
}
