using FitService.Api.Fits;
using FitService.Api.Webhooks;

namespace FitService.Api.Batches;

/// <summary>
/// Checks a batch: its own fields (fits, label, webhook), then each item over the defaults with the single fit's
/// validator (<see cref="FitValidator"/>) and webhook policy, errors named <c>fits[i].field</c>. All or nothing.
/// </summary>
public static class BatchValidator
{
    /// <summary>The batch's valid fits, in order, or null with <paramref name="errors"/> filled.</summary>
    public static async Task<List<ValidFit>?> ValidateAsync(BatchRequest request, string tenant, WebhookUrlPolicy webhooks, LimitsOptions limits,
        ValidationErrors errors, CancellationToken ct)
    {
        if (request.Fits is null or { Length: 0 }) errors.Add("fits", "must hold at least 1 fit");
        else if (request.Fits.Length > limits.MaxBatchFits) errors.Add("fits", $"has {request.Fits.Length} fits; at most {limits.MaxBatchFits} (Limits:MaxBatchFits) are allowed");
        FitValidator.ValidateLabel(request.Label, limits, errors);
        WebhookUrls.Validate(request.Webhook, errors);
        if (request.Webhook?.Url is { } batchUrl && WebhookUrls.TryParse(batchUrl, out _))
        {
            var hookErrors = new ValidationErrors();
            await webhooks.CheckAsync(tenant, batchUrl, hookErrors, ct);
            errors.AddAll("", hookErrors);
        }
        if (errors.Any) return null;

        var valid = new List<ValidFit>(request.Fits!.Length);
        var items = new (ValidFit? Fit, ValidationErrors Errors)[request.Fits.Length];
        // Items that set nothing are the defaults: validated once, and the valid fit shared (the submitter then stores
        // its form and hash once). Invalid defaults are told item by item, as any invalid item is.
        ValidFit? defaultsFit = null;
        for (var i = 0; i < request.Fits.Length; i++)
        {
            if (defaultsFit is not null && request.Fits[i] is { } same && same.SetsNothing())
            {
                items[i] = (defaultsFit, new ValidationErrors());
                continue;
            }
            var itemErrors = new ValidationErrors();
            var item = request.Fits[i] is { } fit ? FitValidator.Validate(fit.Over(request.Defaults), limits, itemErrors) : null;
            if (request.Fits[i] is null) itemErrors.Add("", "must be a fit object");
            else if (item is not null && !itemErrors.Any && request.Fits[i]!.SetsNothing()) defaultsFit = item;
            items[i] = (item, itemErrors);
        }
        // Every distinct webhook URL checked once, their hosts resolved together.
        var webhookChecks = await webhooks.CheckAllAsync(tenant, items.Select(it => it.Fit?.Spec.Webhook?.Url).OfType<string>(), ct);
        for (var i = 0; i < items.Length; i++)
        {
            var (item, itemErrors) = items[i];
            if (item?.Spec.Webhook?.Url is { } url) itemErrors.AddAll("", webhookChecks[url]);
            if (item is null || itemErrors.Any) errors.AddAll($"fits[{i}].", itemErrors);
            else valid.Add(item);
        }
        return errors.Any ? null : valid;
    }
}
