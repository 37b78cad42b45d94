using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace FitService.Api.Http;

/// <summary>Marks an endpoint whose 200 answers carry an <c>ETag</c> and that answers 304 to a matching <c>If-None-Match</c>.</summary>
public sealed class ETagged;

/// <summary>
/// Strong entity tags for JSON resources: a hash of the very bytes the answer carries, so the tag changes exactly when the
/// JSON does (progress, status, history) and a poller with <c>If-None-Match</c> gets 304 without a body in between.
/// </summary>
public static class ETags
{
    /// <summary>The content type <c>Ok</c> gives JSON answers.</summary>
    private const string JsonContentType = "application/json; charset=utf-8";

    /// <summary>Adds the tag to 200 answers and 304 for a matching <c>If-None-Match</c>.</summary>
    public static RouteHandlerBuilder WithETag(this RouteHandlerBuilder builder)
    {
        builder.WithMetadata(new ETagged());
        builder.Produces(StatusCodes.Status304NotModified);
        return builder.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            var inner = result is INestedHttpResult nested ? nested.Result : result;
            if (inner is not (IStatusCodeHttpResult { StatusCode: StatusCodes.Status200OK } and IValueHttpResult { Value: { } body })) return result;

            var http = context.HttpContext;
            var options = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            // A resource served again as the same instance (EndedFitResources) is serialized and hashed once.
            var known = http.RequestServices.GetService<IKnownRepresentations>();
            if (known is null || !known.TryGet(body, out var json, out var tag))
            {
                json = JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), options);
                tag = Of(json);
                known?.Add(body, json, tag);
            }
            http.Response.Headers.ETag = tag;
            // The bytes just hashed are the answer (as Ok would write them, with their length): a GET serializes once.
            return Matches(http.Request, tag)
                ? TypedResults.StatusCode(StatusCodes.Status304NotModified)
                : TypedResults.Bytes(json, JsonContentType);
        });
    }

    /// <summary>A strong tag: the first 128 bits of the SHA-256 of the representation.</summary>
    public static string Of(ReadOnlySpan<byte> representation) => "\"" + Convert.ToHexStringLower(SHA256.HashData(representation)[..16]) + "\"";

    /// <summary><c>If-None-Match</c> names the tag (weak comparison, as RFC 9110 asks for this header) or is <c>*</c>.</summary>
    public static bool Matches(HttpRequest request, string tag)
    {
        if (!EntityTagHeaderValue.TryParseList(request.Headers.IfNoneMatch, out var tags)) return false;
        var current = new EntityTagHeaderValue(tag);
        return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(current, useStrongComparison: false));
    }
}

/// <summary>
/// Answer bodies kept to be served again as the same instance (<see cref="Fits.EndedFitResources"/>), with their JSON and
/// tag, so such a body is serialized and hashed once. A body it does not keep is neither found nor added.
/// </summary>
public interface IKnownRepresentations
{
    bool TryGet(object body, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out byte[] json, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string tag);

    void Add(object body, byte[] json, string tag);
}
