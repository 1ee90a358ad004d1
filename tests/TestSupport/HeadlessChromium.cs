using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FedTune.TestSupport;

/// <summary>
/// A real headless Chromium driven over the W3C WebDriver HTTP protocol by Debian's chromedriver (installed by
/// scripts/browser-deps.sh, which ./test.sh runs): open a page, run a script in it, read the browser's console log,
/// take a screenshot. The session and the driver process end on dispose.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _driver;
    private readonly HttpClient _http;
    private readonly string _session;

    private HeadlessChromium(Process driver, HttpClient http, string session)
    {
        _driver = driver;
        _http = http;
        _session = session;
    }

    public static async Task<HeadlessChromium> StartAsync()
    {
        var driverPath = Find("chromedriver", "/usr/bin/chromedriver");
        var browserPath = Find("chromium", "/usr/bin/chromium");
        int port = FreePort();
        var driver = Process.Start(new ProcessStartInfo(driverPath, $"--port={port}")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"{driverPath} did not start.");
        driver.OutputDataReceived += (_, _) => { };
        driver.ErrorDataReceived += (_, _) => { };
        driver.BeginOutputReadLine();
        driver.BeginErrorReadLine();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await WaitReadyAsync(http);
            var capabilities = new JsonObject
            {
                ["capabilities"] = new JsonObject
                {
                    ["alwaysMatch"] = new JsonObject
                    {
                        ["browserName"] = "chrome",
                        ["goog:chromeOptions"] = new JsonObject
                        {
                            ["binary"] = browserPath,
                            ["args"] = new JsonArray("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                "--window-size=1400,1700", "--no-first-run", "--disable-extensions"),
                        },
                        ["goog:loggingPrefs"] = new JsonObject { ["browser"] = "ALL" },
                    },
                },
            };
            var created = await PostAsync(http, "session", capabilities);
            var session = created?["sessionId"]?.GetValue<string>() ?? throw new InvalidOperationException("chromedriver created no session.");
            return new HeadlessChromium(driver, http, session);
        }
        catch
        {
            http.Dispose();
            Stop(driver);
            throw;
        }
    }

    public Task NavigateAsync(Uri url) => PostAsync(_http, $"session/{_session}/url", new JsonObject { ["url"] = url.ToString() });

    /// <summary>Runs <paramref name="script"/> (a function body; use <c>return</c>) in the page and returns its result.</summary>
    public async Task<JsonNode?> EvaluateAsync(string script)
    {
        var result = await PostAsync(_http, $"session/{_session}/execute/sync", new JsonObject { ["script"] = script, ["args"] = new JsonArray() });
        return result;
    }

    /// <summary>Polls <paramref name="script"/> until it returns true; on timeout fails with <paramref name="what"/> and the page's text.</summary>
    public async Task WaitUntilAsync(string script, string what, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if ((await EvaluateAsync(script))?.GetValueKind() == JsonValueKind.True) return;
            await Task.Delay(250);
        }
        var text = await EvaluateAsync("return document.body.innerText");
        throw new TimeoutException($"The page did not show {what} within {timeout}. It shows:\n{text}");
    }

    /// <summary>The browser's console and network log entries since the last call (level, message).</summary>
    public async Task<IReadOnlyList<(string Level, string Message)>> ReadConsoleAsync()
    {
        var entries = await PostAsync(_http, $"session/{_session}/se/log", new JsonObject { ["type"] = "browser" });
        return entries?.AsArray().Select(e => (e!["level"]!.GetValue<string>(), e["message"]!.GetValue<string>())).ToList() ?? [];
    }

    public async Task<byte[]> ScreenshotAsync()
    {
        using var response = await _http.GetAsync(new Uri($"session/{_session}/screenshot", UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return Convert.FromBase64String(body!["value"]!.GetValue<string>());
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var response = await _http.DeleteAsync(new Uri($"session/{_session}", UriKind.Relative));
        }
        catch (HttpRequestException)
        {
            // The driver is going away anyway.
        }
        _http.Dispose();
        Stop(_driver);
    }

    private static async Task<JsonNode?> PostAsync(HttpClient http, string path, JsonObject body)
    {
        // A plain body with Content-Length: chromedriver's HTTP server drops chunked requests.
        using var content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), content);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"WebDriver {path} answered {(int)response.StatusCode}: {json?["value"]?["message"]}");
        }
        return json?["value"];
    }

    private static async Task WaitReadyAsync(HttpClient http)
    {
        for (int i = 0; i < 100; i++)
        {
            try
            {
                var status = await http.GetFromJsonAsync<JsonObject>(new Uri("status", UriKind.Relative));
                if (status?["value"]?["ready"]?.GetValue<bool>() == true) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException("chromedriver did not become ready within 10 s.");
    }

    private static string Find(string name, string usual)
    {
        if (File.Exists(usual)) return usual;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException(
            $"{name} is not installed, so the dashboard cannot be tested in a browser. Fix: run scripts/browser-deps.sh (./test.sh does), " +
            "or apt-get install -y chromium chromium-driver.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        process.Dispose();
    }
}
