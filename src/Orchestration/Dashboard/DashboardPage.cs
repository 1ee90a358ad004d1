using System.Reflection;
using System.Text;

namespace FedTune.Orchestration.Dashboard;

/// <summary>
/// The dashboard's one HTML page, composed from the embedded dashboard.html, dashboard.css and dashboard.js (no
/// external asset: the Content-Security-Policy the hosts send forbids loading anything from elsewhere).
/// </summary>
public static class DashboardPage
{
    /// <summary>Sent with the page: only its own inline script and style, and requests back to the same host.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";

    private static readonly Lazy<byte[]> Html = new(Compose);

    /// <summary>The page's UTF-8 bytes.</summary>
    public static byte[] Bytes => Html.Value;

    private static byte[] Compose()
    {
        var html = Resource("dashboard.html")
            .Replace("/*dashboard.css*/", Resource("dashboard.css"), StringComparison.Ordinal)
            .Replace("/*dashboard.js*/", Resource("dashboard.js"), StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(html);
    }

    private static string Resource(string name)
    {
        var assembly = typeof(DashboardPage).Assembly;
        using var stream = assembly.GetManifestResourceStream("FedTune.Orchestration.Dashboard." + name)
            ?? throw new InvalidOperationException($"The dashboard resource {name} is missing from {assembly.GetName().Name}; the build did not embed it.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
