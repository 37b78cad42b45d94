using System.Reflection;
using System.Text.Json;
using FitService.Api.Batches;
using FitService.Api.Fits;
using FitService.Api.Notifications;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Webhooks;
using FitService.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Batches;

/// <summary>
/// What a batch's items are made into: an item that sets nothing is the defaults (validated once, its stored form made
/// once), and the ids of a batch's fits rise in item order.
/// </summary>
public sealed class BatchItemTests : IDisposable
{
    private readonly FitServiceFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    private WebhookUrlPolicy Webhooks => _factory.Services.GetRequiredService<WebhookUrlPolicy>();

    /// <summary>Every field of a fit request, with a value other than null.</summary>
    public static TheoryData<string> Fields() => [.. typeof(FitRequest).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(Fields))]
    public void AnItemSettingAnyOneFieldSetsSomethingAndKeepsItOverTheDefaults(string field)
    {
        var property = typeof(FitRequest).GetProperty(field)!;
        var value = SomeValue(property.PropertyType);
        var item = new FitRequest();
        property.SetValue(item, value);

        Assert.True(new FitRequest().SetsNothing());
        Assert.False(item.SetsNothing(), $"an item setting only {field} counts as setting nothing");
        Assert.Equal(value, property.GetValue(item.Over(new FitRequest())));
    }

    private static object SomeValue(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string)) return "a";
        if (underlying == typeof(double[])) return new[] { 1.0 };
        if (underlying.IsValueType) return Activator.CreateInstance(underlying)!;
        // A DTO: its JSON form of an empty object, whatever its constructor.
        return JsonSerializer.Deserialize(underlying == typeof(XValues) ? "[1]" : underlying == typeof(LearningRateValue) ? "0.1" : "{}", underlying, TestApi.Json)!;
    }

    [Fact]
    public async Task ItemsThatSetNothingShareTheDefaultsOneValidFit()
    {
        var defaults = new FitRequest { X = Values([0, 1, 2, 3]), Y = [1, 3, 5, 8], Degree = 1, Loss = "mse", Steps = 10 };
        var request = new BatchRequest { Defaults = defaults, Fits = [new(), new(), new() { Label = "own" }, new(), new()] };
        var errors = new ValidationErrors();

        var valid = (await BatchValidator.ValidateAsync(request, "t", Webhooks, new LimitsOptions(), errors, CancellationToken.None))!;

        Assert.False(errors.Any);
        Assert.Equal(5, valid.Count);
        Assert.Same(valid[0], valid[1]);
        Assert.Same(valid[0], valid[3]);
        Assert.Same(valid[0], valid[4]);
        Assert.NotSame(valid[0], valid[2]);
        Assert.Equal("own", valid[2].Spec.Label);
    }

    [Fact]
    public async Task InvalidDefaultsAreToldForEveryItemThatSetsNothing()
    {
        var request = new BatchRequest { Defaults = new FitRequest { X = Values([0, 1]), Y = [1, 2], Degree = 1, Loss = "nope", Steps = 10 }, Fits = [new(), new(), new()] };
        var errors = new ValidationErrors();

        Assert.Null(await BatchValidator.ValidateAsync(request, "t", Webhooks, new LimitsOptions(), errors, CancellationToken.None));
        var named = errors.ToDictionary().Keys;
        Assert.Contains("fits[0].loss", named);
        Assert.Contains("fits[2].loss", named);
    }

    [Fact]
    public async Task WaitingOnABatchLeavesNoWaiterBehind()
    {
        using var client = _factory.CreateClient();
        var body = new { defaults = new { x = new[] { 0.0, 1.0, 2.0 }, y = new[] { 1.0, 3.0, 4.0 }, degree = 1, loss = "mse", learningRate = 0.05, steps = 200 }, fits = new object[300] };
        Array.Fill(body.fits, new { });
        var posted = await client.PostAsJsonAsync("/v1/batches", body);
        var batch = (await posted.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;

        var wait = new HttpRequestMessage(HttpMethod.Get, $"/v1/batches/{batch.Id}");
        wait.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        var ended = (await (await client.SendAsync(wait)).Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;

        Assert.Equal("completed", ended.Status);
        Assert.Equal(300, ended.Counts.Succeeded);
        Assert.Equal(0, ((InProcessFitSignals)_factory.Services.GetRequiredService<IFitSignals>()).EndWaiters);
    }

    private static XValues Values(double[] x) => JsonSerializer.Deserialize<XValues>(JsonSerializer.Serialize(x), TestApi.Json)!;

    [Theory]
    [InlineData(1)]
    [InlineData(10_000)]
    public void ABatchsIdsAreVersion7OfItsTimeAndRiseInItemOrder(int count)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_123);

        var ids = FitSubmitter.NewIds(count, now);

        Assert.Equal(count, ids.Length);
        for (var i = 0; i < count; i++)
        {
            Assert.Matches("^[0-9a-f]{32}$", ids[i]);
            var bytes = Convert.FromHexString(ids[i]);
            Assert.Equal(now.ToUnixTimeMilliseconds(), System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes) >> 16);
            Assert.Equal(7, bytes[6] >> 4);
            Assert.Equal(0b10, bytes[8] >> 6);
            Assert.Equal(7, Guid.ParseExact(ids[i], "N").Version);
            if (i > 0) Assert.True(string.CompareOrdinal(ids[i - 1], ids[i]) < 0, $"id {i} does not rise");
        }
        Assert.DoesNotContain(FitSubmitter.NewIds(count, now)[0], ids);
    }
}
