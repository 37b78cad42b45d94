using System.Net;
using System.Text;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>
/// Large request bodies share <c>Limits:MaxBodyBytesInFlight</c>: while one holds the room, another large one waits at most
/// <c>Limits:BodyWaitSeconds</c> and is then 503 problem details with <c>Retry-After</c>, storing nothing; small bodies never
/// wait. (Four 64 MB bodies at once used to run a process under a 2 GiB heap out of memory: a 500.) Here the room is 2 MiB.
/// </summary>
public sealed class RequestBodyBudgetTests(RequestBodyBudgetTests.Service factory) : IClassFixture<RequestBodyBudgetTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxPoints", "100000"),
        ("Limits:MaxBodyBytesInFlight", (2 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("Limits:BodyWaitSeconds", "1"));

    /// <summary>
    /// A body of a declared length that sends its first 1,500,000 bytes (so that it holds 2 MiB of room whether the server
    /// reserves by the declared length or, for a body of unknown length, a MiB at a time as it arrives), then waits until
    /// released before sending the rest.
    /// </summary>
    private sealed class HeldBody(int length) : HttpContent
    {
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            const int First = 1_500_000;
            await stream.WriteAsync(Encoding.UTF8.GetBytes("{" + new string(' ', First - 1)));
            await stream.FlushAsync();
            Started.TrySetResult();
            await Release.Task;
            await stream.WriteAsync(Enumerable.Repeat((byte)' ', length - First).ToArray());
        }

        protected override bool TryComputeLength(out long length1)
        {
            length1 = length;
            return true;
        }
    }

    private static ByteArrayContent Body(int bytes)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{" + new string(' ', bytes - 2) + "}"));
        content.Headers.ContentType = new("application/json");
        return content;
    }

    [Fact]
    public async Task ALargeBodyFindingNoRoomIs503WithRetryAfterAndSmallOnesNeverWait()
    {
        var client = factory.CreateClient();
        var held = new HeldBody(1_600_000); // holds 2 MiB: all the room
        held.Headers.ContentType = new("application/json");
        // The test server's own client: the factory's buffers a request body (to replay it on a redirect) before sending it.
        var holding = factory.Server.CreateClient().PostAsync("/v1/fits", held);
        await held.Started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var before = await HostileRequestsTests.StoredRows(factory.DatabasePath);

        // Wait until the held body has its reservation: from then on a second large body cannot get one.
        HttpResponseMessage busy;
        var tries = 0;
        do busy = await client.PostAsync("/v1/fits", Body(200_000));
        while (busy.StatusCode != HttpStatusCode.ServiceUnavailable && ++tries < 50);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
        Assert.Equal("application/problem+json", busy.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(2), busy.Headers.RetryAfter?.Delta);
        Assert.Contains("Limits:MaxBodyBytesInFlight", (await busy.ReadProblem()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var small = await client.PostFit(TestApi.SmallFit());
        Assert.Equal(HttpStatusCode.Accepted, small.StatusCode);

        held.Release.SetResult();
        var heldAnswer = await holding;
        Assert.Equal(HttpStatusCode.BadRequest, heldAnswer.StatusCode); // "{" and spaces: not a fit, but read
        var after = await client.PostAsync("/v1/fits", Body(200_000));
        Assert.Equal(HttpStatusCode.BadRequest, after.StatusCode); // room again: read, and refused for what it is
        Assert.Equal(before + 1, await HostileRequestsTests.StoredRows(factory.DatabasePath)); // only the small fit
    }
}
