namespace FitService.Client;

/// <summary>Where FitService is and how to call it; bound by <c>services.AddFitServiceClient(o =&gt; …)</c>.</summary>
public sealed class FitServiceClientOptions
{
    /// <summary>The service root, e.g. <c>http://fitservice:8080/</c>. Required (unless the <see cref="HttpClient"/> given to the client has one).</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>Sent as <c>Authorization: Bearer &lt;key&gt;</c> when set; needed when the service has API keys configured.</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long an ordinary call may take, on top of any <c>Prefer: wait</c> it asks for; default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What <c>WaitAsync</c> asks for per request (<c>Prefer: wait=N</c>); the service caps it (by default at 60 s).</summary>
    public TimeSpan LongPollWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>An event stream silent this long is taken as broken and resumed (the service sends a keep-alive every 15 s); default 60 s.</summary>
    public TimeSpan EventStreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Times an event stream that broke is resumed in a row (with <c>Last-Event-ID</c>) before the error is thrown; default 5.</summary>
    public int EventStreamReconnects { get; set; } = 5;
}
