using FitService.Api.Tests.Infrastructure;

namespace FitService.Clients.Tests;

/// <summary>
/// The schema tells the truth: Conformance/conformance.py drives a live service through every operation (every kind of fit
/// and its ends, finder runs, batches and their NDJSON and CSV results, history pages, evaluate, predict, plots, events,
/// deliveries, and problem details of every status it can reach) and validates each answer against the document it serves,
/// with openapi-schema-validator's strict OpenAPI 3.0.3 reading: documented status, media type and headers, a body valid
/// against that schema (null only where nullable, every enum value listed, every required field present), and every
/// request the service accepted valid against the request schema.
/// </summary>
public sealed class ResponseConformanceTests
{
    private const string Key = "fs_conformance-test-key";

    [Fact]
    public async Task EveryAnswerOfTheLiveServiceIsValidAgainstTheServedDocument()
    {
        var work = Directory.CreateTempSubdirectory("fitservice-conformance-").FullName;
        try
        {
            // Small limits make 413, 422 and the quota's 429 reachable with small requests; a signing secret allows webhooks; a key
            // makes the document require it (and 401 reachable).
            await using var service = await ServiceProcess.StartAsync(
                $"Storage:ConnectionString=Data Source={Path.Combine(work, "fits.db")}", "Workers:Count=2",
                "Auth:Keys:0:Tenant=conformance", $"Auth:Keys:0:Hash={Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Key)))}",
                "Limits:MaxPoints=1000", "Limits:MaxWork=1000000000", "Limits:MaxActiveFitsPerTenant=6",
                "Webhooks:SigningSecret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "Webhooks:AllowedHosts:0=192.0.2.10");
            var document = Path.Combine(work, "openapi.json");
            await File.WriteAllTextAsync(document, await service.Client.GetStringAsync("/swagger/v1/swagger.json"));
            var script = Path.Combine(AppContext.BaseDirectory, "Conformance", "conformance.py");

            var output = await ClientTools.RunAsync("python3", [script, $"http://127.0.0.1:{service.Port}", document], work, TimeSpan.FromMinutes(10),
                new Dictionary<string, string> { ["FITSERVICE_API_KEY"] = Key });

            Assert.Matches(@"[1-9]\d{2,} answers validated, \d+ \(operation, status, media type\) combinations, 0 failures", output);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
