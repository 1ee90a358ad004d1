using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSystemd();
builder.Services.AddWindowsService();
using var host = builder.Build();
await host.RunAsync().ConfigureAwait(false);
