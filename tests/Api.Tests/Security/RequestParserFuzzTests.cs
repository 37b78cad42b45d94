using System.Net;
using System.Text;
using CsCheck;
using FitService.Api.Fits;
using FitService.Api.Security;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>Property-based: random byte mutations of valid bodies never make the parser or validator throw, nor the API answer 5xx.</summary>
public sealed class RequestParserFuzzTests(RequestParserFuzzTests.NoWorkers factory) : IClassFixture<RequestParserFuzzTests.NoWorkers>
{
    public sealed class NoWorkers() : FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxPoints", "1000"), ("Limits:MaxSteps", "100000"));

    private static readonly byte[][] Seeds =
    [
        Encoding.UTF8.GetBytes("""{"x":[1,2,3],"y":[2,4,6],"degree":1,"loss":"mse","learningRate":0.01,"steps":10}"""),
        Encoding.UTF8.GetBytes("""
            {"x":[-2.0,-1.0,0.0,1.0,2.0],"y":[9.0,2.0,1.0,6.0,17.0],"degree":2,"loss":"huber","huberDelta":1.5,"learningRate":0.01,
             "steps":100,"initialParams":[1.1,1.1,1.1],"optimizer":{"type":"adam","beta1":0.9},
             "schedule":{"type":"oneCycle","maxLearningRate":0.1},"stop":{"lossBelow":0.001},"historyEvery":2,"label":"fuzz",
             "webhook":{"url":"https://example.test/hook"}}
            """),
    ];

    /// <summary>A seed body with 1 to 8 bytes overwritten, inserted or deleted at random places.</summary>
    private static readonly Gen<byte[]> Mutated =
        Gen.Int[0, Seeds.Length - 1].SelectMany(seed => Gen.Select(Gen.Int[0, 2], Gen.Int[0, Seeds[seed].Length - 1], Gen.Byte).Array[1, 8]
            .Select(edits =>
            {
                var bytes = Seeds[seed].ToList();
                foreach (var (kind, at, value) in edits)
                {
                    var i = Math.Min(at, bytes.Count - 1);
                    if (bytes.Count == 0) break;
                    switch (kind)
                    {
                        case 0: bytes[i] = value; break;
                        case 1: bytes.Insert(i, value); break;
                        default: bytes.RemoveAt(i); break;
                    }
                }
                return bytes.ToArray();
            }));

    [Fact]
    public void TheReaderAndValidatorNeverThrowOnMutatedBodies()
    {
        var limits = new LimitsOptions { MaxPoints = 1000, MaxSteps = 100_000 };
        Mutated.Sample(body =>
        {
            _ = JsonGuard.FindOversizedString(body, limits.MaxJsonStringBytes);
            var read = FitRequestReader.ReadJson<FitRequest>(body);
            if (read.Request is not null) _ = FitValidator.Validate(read.Request, limits, new ValidationErrors());
        }, iter: 20_000);
    }

    [Fact]
    public void TheCsvReaderNeverThrowsOnRandomBytes()
    {
        var query = new Microsoft.AspNetCore.Http.QueryCollection(new Dictionary<string, Microsoft.Extensions.Primitives.StringValues>
        {
            ["degree"] = "1", ["loss"] = "mse", ["learningRate"] = "0.01", ["steps"] = "10",
        });
        Gen.Byte.Array[0, 200].Sample(body => { _ = FitRequestReader.ReadCsv(body, query); }, iter: 10_000);
        Gen.Char["0123456789,.;\te-+\nxyNaInf "].Array[0, 200].Select(c => Encoding.UTF8.GetBytes(c))
            .Sample(body => { _ = FitRequestReader.ReadCsv(body, query); }, iter: 10_000);
    }

    [Fact]
    public async Task TheApiNeverAnswers5xxToMutatedBodies()
    {
        var client = factory.CreateClient();
        await Mutated.SampleAsync(async body =>
        {
            var response = await client.PostAsync("/v1/fits", new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } });
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for {Encoding.UTF8.GetString(body)}");
            if (!response.IsSuccessStatusCode) Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            else Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Created);
        }, iter: 500, threads: 1);
    }
}
