using FitService.Api.Fits;
using FitService.Api.Health;
using FitService.Api.Http;
using FitService.Api.Jobs;
using FitService.Api.Metrics;
using FitService.Api.Notifications;
using FitService.Api.OpenApi;
using FitService.Api.Storage;
using FitService.Api.Tracing;
using FitService.Api.Webhooks;
using Hangfire;
using Hangfire.AspNetCore;

namespace FitService.Api.Hosting;

public static class ServiceRegistration
{
    /// <summary>Options, storage, Hangfire, the fit pipeline, metrics, health and OpenAPI.</summary>
    public static WebApplicationBuilder AddFitService(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
        services.AddOptions<WorkersOptions>().BindConfiguration(WorkersOptions.Section);
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section);
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section);
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<RetentionOptions>, RetentionOptionsValidation>();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<StorageFaults>();
        // Registered first, so a corrupt file is known, and the schema exists, before any other hosted service (workers, sweeps) starts.
        services.AddHostedService<StorageIntegrityCheck>();
        services.AddHostedService<StoreInitializer>();
        var storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        var workers = builder.Configuration.GetSection(WorkersOptions.Section).Get<WorkersOptions>() ?? new WorkersOptions();
        // Each provider registers the store, IFitSignals, IFitQueue and this host's own JobStorage.
        var api = builder.Configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
        var webhookWorkers = builder.Configuration.GetSection(Webhooks.WebhookOptions.Section).Get<Webhooks.WebhookOptions>()?.Workers ?? new Webhooks.WebhookOptions().Workers;
        if (storage.IsPostgres) services.AddPostgresStorage(storage, workers, ConnectionBudget.For(workers.Count, webhookWorkers, api.Enabled));
        else services.AddSqliteStorage(storage, workers, builder.Environment.ContentRootPath);

        services.AddSingleton<FitEndings>();
        services.AddSingleton<FitCancellations>();
        services.AddSingleton<FitSubmitter>();
        services.AddSingleton<EndedFitResources>();
        services.AddSingleton<ParsedFitSpecs>();
        services.AddSingleton<IKnownRepresentations>(sp => sp.GetRequiredService<EndedFitResources>());
        services.AddSingleton<InlineFits>();
        services.AddSingleton<FitRunner>();
        services.AddTransient<FitJob>();
        services.AddSingleton<RetentionSweeper>();
        if (workers.Count > 0) services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        services.AddFitMetrics();
        builder.AddFitTracing(FitMetrics.Role(api.Enabled, workers.Count));

        // The storage (above) and job activator are this host's own singletons, not Hangfire's static JobStorage.Current
        // and JobActivator.Current, so that two hosts in one process (tests, benchmarks) never enqueue into each other's
        // queues nor run jobs with each other's services. Hangfire's log provider is global too: it logs through
        // Serilog's static logger rather than a host's logger factory, which is disposed with its host.
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire(config => config
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseSerilogLogProvider());
        if (workers.Count > 0)
        {
            services.AddHangfireServer(options =>
            {
                options.WorkerCount = workers.Count;
                // The embedded queue listens to the fits queue alone: Hangfire.InMemory leaves a waiting fetch's node on every
                // other queue it waited on, and "default" (where none of our jobs go) never gets a job to clear them, so
                // each worker woken for a fit left ~90 bytes behind for the life of the process (docs/throughput.md).
                options.Queues = storage.IsPostgres ? [HangfireFitQueue.Queue, "default"] : [HangfireFitQueue.Queue];
                options.ShutdownTimeout = TimeSpan.FromSeconds(10);
            });
        }
        builder.AddFitWebhooks(runsWorkers: workers.Count > 0);

        services.ConfigureHttpJsonOptions(o => WireJson.Configure(o.SerializerOptions));
        services.AddProblemDetails();
        // Before the storage handler (AddFitSecurity): a queue failure after the insert must not read as "nothing stored".
        services.AddExceptionHandler<NotQueuedExceptionHandler>();
        services.AddFitProblemTypes();
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: [HealthEndpoints.ReadyTag]);
        services.AddFitSwagger();
        return builder;
    }

    /// <summary>Creates or migrates the schema before anything else touches the store (not a corrupt one: readiness says why).</summary>
    private sealed class StoreInitializer(IFitStore store, StorageFaults faults, ILogger<StoreInitializer> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (faults.Corruption is not null) return;
            try
            {
                await StartupRetry.RunAsync(store.InitializeAsync, "Creating or migrating the fit store's schema", logger, cancellationToken);
            }
            catch (Exception e) when (StorageFaults.IsCorruption(e))
            {
                // A damaged schema page (the integrity check at start is off, or missed it): start unready and answer 503,
                // as for any damaged page a request meets, rather than fail to start at all.
                faults.ReportCorruption($"the schema could not be read: {e.Message}");
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
