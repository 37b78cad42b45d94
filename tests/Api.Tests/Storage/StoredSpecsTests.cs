using System.Net.Http.Json;
using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Jobs;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using FitService.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// Stored specs outlive the process that wrote them: rows of the format before the version stamp, and rows with fields a
/// newer API process added (a rolling upgrade on a shared database), are read and run by this version.
/// </summary>
public sealed class StoredSpecsTests
{
    /// <summary>A fit row exactly as the service stored it before specs carried a format version.</summary>
    private const string UnstampedRow =
        """{"degree":2,"solver":"descent","loss":"mae","learningRate":0.01,"steps":25,"points":5,"initialParams":[1.1,-1.5,1.2],"historyEvery":1,"label":"before the stamp"}""";

    [Fact]
    public void ARowOfThePreviousFormatReadsAsItWasWritten()
    {
        var spec = StoredSpecs.Read<FitSpec>(UnstampedRow);

        Assert.Equal(2, spec.Degree);
        Assert.Equal("mae", spec.Loss);
        Assert.Equal(25, spec.Steps);
        Assert.Equal([1.1, -1.5, 1.2], spec.InitialParams!);
        Assert.Equal("before the stamp", spec.Label);
    }

    [Fact]
    public void FieldsANewerVersionAddedAreSkipped()
    {
        var row = UnstampedRow.Replace("{\"degree\"", $"{{\"{StoredSpecs.VersionField}\":7,\"fromANewerVersion\":{{\"deep\":[1,2]}},\"degree\"");

        var spec = StoredSpecs.Read<FitSpec>(row);

        Assert.Equal(2, spec.Degree);
        Assert.Equal(25, spec.Steps);
    }

    [Fact]
    public void NewRowsCarryTheVersionAndRoundTrip()
    {
        var spec = StoredSpecs.Read<FitSpec>(UnstampedRow);

        var row = StoredSpecs.Write(spec);

        using (var document = JsonDocument.Parse(row))
            Assert.Equal(StoredSpecs.Version, document.RootElement.GetProperty(StoredSpecs.VersionField).GetInt32());
        Assert.Equal(StoredSpecs.Content(spec), StoredSpecs.Content(StoredSpecs.Read<FitSpec>(row)));
        Assert.Equal($"{{\"{StoredSpecs.VersionField}\":{StoredSpecs.Version}}}", StoredSpecs.Stamp("{}"));
        Assert.Null(StoredSpecs.Read<BatchSpec>(StoredSpecs.Write(new BatchSpec(null))).Webhook);
    }

    [Fact]
    public void TheContentHashedForIdempotencyIsTheUnstampedText()
    {
        // An idempotent retry after an upgrade must match the first attempt stored before it: the hash is over the content,
        // which is the text rows had before the stamp.
        var spec = StoredSpecs.Read<FitSpec>(UnstampedRow);

        Assert.Equal(UnstampedRow, StoredSpecs.Content(spec));
    }

    [Fact]
    public async Task AWorkerRunsRowsOfThePreviousFormatAndOfANewerOne()
    {
        using var factory = new FitServiceFactory();
        using var client = factory.CreateClient();
        var first = await (await client.PostAsJsonAsync("/v1/fits", TestApi.SmallFit(steps: 5), TestApi.Json)).ReadFit();
        var store = factory.Services.GetRequiredService<IFitStore>();
        var tenant = (await store.GetForWorkerAsync(first.Id, CancellationToken.None))!.Tenant;
        double[] x = [-2, -1, 0, 1, 2], y = [9, 2, 1, 6, 17];
        var rows = new[]
        {
            UnstampedRow,
            UnstampedRow.Replace("{\"degree\"", $"{{\"{StoredSpecs.VersionField}\":2,\"aFieldOfTheFuture\":true,\"degree\""),
        };

        foreach (var row in rows)
        {
            var id = FitSubmitter.NewId();
            await store.CreateAsync(new NewFit(id, tenant, DateTimeOffset.UtcNow, row, x, y, 25, 1, null, null, id), CancellationToken.None);
            factory.Services.GetRequiredService<IFitQueue>().Enqueue(id);

            var fit = await client.WaitForEnd(id);

            Assert.Equal("succeeded", fit.Status);
            Assert.Equal(25, fit.Step);
            Assert.Equal("mae", fit.Request!.Loss);
        }
    }
}
