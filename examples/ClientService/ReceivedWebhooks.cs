using System.Collections.Concurrent;
using FitService.Contracts;

namespace FitService.Examples.ClientService;

/// <summary>
/// The webhooks this service has accepted, by fit id. In memory for the example; a real receiver stores them (or
/// enqueues work) and uses the <c>webhook-id</c> to ignore redeliveries, as here.
/// </summary>
public sealed class ReceivedWebhooks
{
    private readonly ConcurrentDictionary<string, WebhookPayload> _byFit = new();
    private readonly ConcurrentDictionary<string, bool> _seenIds = new();

    /// <summary>False when this <paramref name="webhookId"/> was seen before: FitService retries, and a receiver acts once.</summary>
    public bool Add(string webhookId, WebhookPayload payload)
    {
        if (!_seenIds.TryAdd(webhookId, true)) return false;
        _byFit[payload.Data.Id] = payload;
        return true;
    }

    public WebhookPayload? For(string fitId) => _byFit.GetValueOrDefault(fitId);
}
