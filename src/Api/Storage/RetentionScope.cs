namespace FitService.Api.Storage;

/// <summary>Whose ended fits a retention delete may remove: one tenant's, or every tenant's but those listed.</summary>
/// <param name="Tenant">The one tenant, or null for every tenant not in <paramref name="Except"/>.</param>
/// <param name="Except">Tenants left out (those with retention of their own for the status at hand).</param>
public sealed record RetentionScope(string? Tenant, IReadOnlyList<string> Except)
{
    public static readonly RetentionScope All = new(null, []);

    public static RetentionScope Only(string tenant) => new(tenant, []);
}
