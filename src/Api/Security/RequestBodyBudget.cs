using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace FitService.Api.Security;

/// <summary>
/// The bytes of request bodies the process holds at once. A body is read whole and then parsed, which takes several times
/// its size (a 64 MB body of numbers took 650 MB): four such bodies at once ran a process under a 2 GiB heap out of memory.
/// So a body larger than <see cref="SmallBody"/> first reserves its size, in MiB, from <c>Limits:MaxBodyBytesInFlight</c>
/// (default two of the largest bodies) and keeps it until its answer is sent; a body that cannot get its share within
/// <c>Limits:BodyWaitSeconds</c> is 503 with <c>Retry-After</c>. Small bodies (every lesson-sized request) never wait.
/// </summary>
public sealed class RequestBodyBudget : IDisposable
{
    /// <summary>Bodies up to this size are not counted: they cost little, and they must not queue behind a large one.</summary>
    public const long SmallBody = 64 * 1024;

    /// <summary>Room is counted in MiB.</summary>
    public const long Unit = 1024 * 1024;
    public const int RetryAfterSeconds = 2;

    private readonly SemaphoreSlim _units;
    // One reservation is taken at a time, unit by unit: two large bodies never each hold half of what both need.
    private readonly SemaphoreSlim _taking = new(1, 1);
    private readonly int _total;
    private readonly TimeSpan _wait;

    public RequestBodyBudget(IOptions<LimitsOptions> limits)
    {
        var l = limits.Value;
        _total = (int)Math.Clamp((l.BodyBytesInFlight + Unit - 1) / Unit, 1, int.MaxValue);
        _units = new SemaphoreSlim(_total, _total);
        _wait = TimeSpan.FromSeconds(l.BodyWaitSeconds);
    }

    /// <summary>All the room, in bytes (whole MiB).</summary>
    public long Room => _total * Unit;

    /// <summary>
    /// Reserves room for a body of <paramref name="bytes"/> until the request's answer is sent; throws
    /// <see cref="BusyException"/> when there is none within the wait.
    /// </summary>
    public async Task ReserveAsync(HttpContext http, long bytes, CancellationToken ct)
    {
        if (bytes <= SmallBody) return;
        var units = (int)Math.Min(_total, (bytes + Unit - 1) / Unit);
        var started = TimeProvider.System.GetTimestamp();
        TimeSpan Left() => _wait - TimeProvider.System.GetElapsedTime(started);
        if (!await _taking.WaitAsync(Left(), ct)) throw new BusyException(bytes);
        var taken = 0;
        try
        {
            while (taken < units)
            {
                var left = Left();
                if (left <= TimeSpan.Zero || !await _units.WaitAsync(left, ct)) throw new BusyException(bytes);
                taken++;
            }
        }
        catch
        {
            if (taken > 0) _units.Release(taken);
            throw;
        }
        finally
        {
            _taking.Release();
        }
        http.Response.RegisterForDispose(new Reservation(_units, units));
    }

    public void Dispose()
    {
        _units.Dispose();
        _taking.Dispose();
    }

    private sealed class Reservation(SemaphoreSlim units, int count) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) units.Release(count);
        }
    }

    /// <summary>No room for a body within the wait.</summary>
    public sealed class BusyException(long bytes) : Exception($"no room for a request body of {bytes} bytes")
    {
        public long Bytes { get; } = bytes;
    }

    /// <summary>Answers <see cref="BusyException"/> 503 problem details with <c>Retry-After</c>: nothing was read or stored.</summary>
    public sealed class BusyHandler(IProblemDetailsService problems) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
        {
            if (exception is not BusyException busy || http.Response.HasStarted) return false;
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status503ServiceUnavailable, Title = "Too many large requests at once",
                    Detail = string.Create(CultureInfo.InvariantCulture,
                        $"Other large request bodies are being read; this one ({busy.Bytes} bytes) found no room within the wait (Limits:MaxBodyBytesInFlight). Nothing was stored. Retry shortly."),
                },
            });
        }
    }
}
