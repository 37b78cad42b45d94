using System.Net;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.Webhooks;
using Hangfire;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FitService.Api.Webhooks;

public static class WebhookRegistration
{
    /// <summary>Signed webhook delivery with durable retries: options, the delivery store, the sender, the job and its own Hangfire server.</summary>
    public static void AddFitWebhooks(this WebApplicationBuilder builder, bool runsWorkers)
    {
        var services = builder.Services;
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section)
            .Validate(o => o.SigningSecret is null || WebhookSigner.TryDecode(o.SigningSecret) is not null,
                $"Webhooks:SigningSecret must be {WebhookSigner.Prefix} + base64 of at least {WebhookSigner.MinKeyBytes} random bytes")
            .Validate(o => o.PreviousSigningSecret is null || WebhookSigner.TryDecode(o.PreviousSigningSecret) is not null,
                $"Webhooks:PreviousSigningSecret must be {WebhookSigner.Prefix} + base64 of at least {WebhookSigner.MinKeyBytes} random bytes")
            .Validate(o => o.Timeout > TimeSpan.Zero && o.EffectiveBackoff.All(b => b >= TimeSpan.Zero) && o.Jitter is >= 0 and < 1,
                "Webhooks:Timeout must be > 0, Webhooks:Backoff entries ≥ 0 and Webhooks:Jitter in [0, 1)")
            .ValidateOnStart();

        services.AddHostedService<DeliveryStoreInitializer>();
        services.TryAddSingleton<HostResolver>(_ => (host, ct) => Dns.GetHostAddressesAsync(host, ct));
        services.TryAddSingleton<IWebhookSecrets, ConfiguredWebhookSecrets>();
        services.AddSingleton<WebhookUrlPolicy>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<HangfireDeliveryQueue>();
        var webhooks = builder.Configuration.GetSection(WebhookOptions.Section).Get<WebhookOptions>() ?? new WebhookOptions();
        var storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        var deliversHere = runsWorkers && webhooks.Workers > 0;
        if (deliversHere && storage.IsPostgres)
        {
            // Events that end in this worker process are delivered by it at once, not through a Hangfire job each.
            services.AddSingleton<DirectDeliveryQueue>();
            services.AddSingleton<IDeliveryQueue>(sp => sp.GetRequiredService<DirectDeliveryQueue>());
            services.AddHostedService(sp => sp.GetRequiredService<DirectDeliveryQueue>());
        }
        else
        {
            services.AddSingleton<IDeliveryQueue>(sp => sp.GetRequiredService<HangfireDeliveryQueue>());
        }
        services.AddSingleton<WebhookEvents>();
        services.AddSingleton<IFitEndedHandler>(sp => sp.GetRequiredService<WebhookEvents>());
        services.AddSingleton<BatchCompletedEvents>();
        services.AddSingleton<IFitEndedHandler>(sp => sp.GetRequiredService<BatchCompletedEvents>());
        services.AddTransient<WebhookDeliveryJob>();

        if (deliversHere)
        {
            services.AddHangfireServer(options =>
            {
                options.ServerName = $"{Environment.MachineName}:webhooks";
                options.WorkerCount = webhooks.Workers;
                options.Queues = [HangfireDeliveryQueue.Queue];
                // Retries are scheduled jobs: look for due ones every second, not every 15 s.
                options.SchedulePollingInterval = TimeSpan.FromSeconds(1);
                options.ShutdownTimeout = TimeSpan.FromSeconds(5);
            });
            services.AddHostedService<WebhookRecovery>();
        }
    }

    /// <summary>Creates the delivery tables after the fit store made its own (the recovery query joins them).</summary>
    private sealed class DeliveryStoreInitializer(IDeliveryStore store, StorageFaults faults, ILogger<DeliveryStoreInitializer> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => faults.Corruption is null
            ? StartupRetry.RunAsync(store.InitializeAsync, "Creating the delivery tables", logger, cancellationToken)
            : Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
