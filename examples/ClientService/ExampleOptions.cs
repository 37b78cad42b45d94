namespace FitService.Examples.ClientService;

/// <summary>The <c>FitService</c> section: what the client library needs, plus what this service needs to receive webhooks.</summary>
public sealed class ExampleOptions
{
    public const string Section = "FitService";

    /// <summary>The FitService root, e.g. <c>http://localhost:5080/</c>.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>Sent as a bearer token when FitService has API keys configured.</summary>
    public string? ApiKey { get; set; }

    /// <summary>FitService's <c>Webhooks:SigningSecret</c> (<c>whsec_…</c>); without it no webhook is asked for or accepted.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>This service's root as FitService reaches it: webhooks go to <c>{PublicUrl}webhooks/fitservice</c>.</summary>
    public Uri? PublicUrl { get; set; }
}
