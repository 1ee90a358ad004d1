using System.Globalization;
using Microsoft.Extensions.Logging;

namespace FedTune.Cli.Bench;

/// <summary>
/// The benchmark host's warnings and errors (Durable Task worker, sidecar, upload watcher), appended to one file so a
/// failed run can be read after the fact; the console keeps only the figures.
/// </summary>
public sealed class BenchHostLog(string path) : ILoggerProvider
{
    private readonly object _gate = new();

    public string PathName => path;

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose() { }

    private void Write(string line)
    {
        lock (_gate) File.AppendAllText(path, line + Environment.NewLine);
    }

    private sealed class FileLogger(BenchHostLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (!IsEnabled(logLevel)) return;
            log.Write(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:O} {logLevel} {category}: {formatter(state, exception)}") +
                (exception == null ? "" : Environment.NewLine + exception));
        }
    }
}
