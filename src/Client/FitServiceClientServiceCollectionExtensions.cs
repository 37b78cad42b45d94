using FitService.Client;
using Microsoft.Extensions.Options;

// In the namespace of IServiceCollection, as ASP.NET Core's own Add… methods are, so no extra using is needed.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="FitServiceClient"/> as a typed client of <see cref="IHttpClientFactory"/>.</summary>
public static class FitServiceClientServiceCollectionExtensions
{
    /// <summary>The name of the underlying <see cref="HttpClient"/>.</summary>
    public const string HttpClientName = "FitService";

    /// <summary>
    /// Registers <see cref="FitServiceClient"/> (transient, its <see cref="HttpClient"/> from <see cref="IHttpClientFactory"/>) with the
    /// options <paramref name="configure"/> sets. Returns the client's <see cref="IHttpClientBuilder"/>, so handlers (resilience,
    /// logging, a test host's handler) can be added as for any typed client.
    /// </summary>
    public static IHttpClientBuilder AddFitServiceClient(this IServiceCollection services, Action<FitServiceClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<FitServiceClientOptions>()
            .Configure(configure)
            .Validate(o => o.BaseAddress is { IsAbsoluteUri: true }, "FitServiceClientOptions.BaseAddress must be an absolute http(s) URI")
            .ValidateOnStart();
        return services.AddHttpClient(HttpClientName, (provider, http) => FitServiceClient.Configure(http, Options(provider)))
            .AddTypedClient((http, provider) => new FitServiceClient(http, Options(provider)));
    }

    private static FitServiceClientOptions Options(IServiceProvider provider) => provider.GetRequiredService<IOptions<FitServiceClientOptions>>().Value;
}
