using System.Diagnostics.CodeAnalysis;
using FitService.Api.Fits;

namespace FitService.Api.Webhooks;

/// <summary>The one parser of a webhook's URL: absolute, http or https. Fits, batches and the URL policy all read it here.</summary>
public static class WebhookUrls
{
    public static bool TryParse([NotNullWhen(true)] string? url, [NotNullWhen(true)] out Uri? uri) =>
        Uri.TryCreate(url, UriKind.Absolute, out uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>A request's <c>webhook</c>, when given: a URL is required and must parse (<see cref="TryParse"/>).</summary>
    public static void Validate(WebhookDto? webhook, ValidationErrors errors)
    {
        if (webhook is null) return;
        if (string.IsNullOrWhiteSpace(webhook.Url)) errors.Add("webhook.url", "is required");
        else if (!TryParse(webhook.Url, out _)) errors.Add("webhook.url", "must be an absolute http or https URL");
    }
}
