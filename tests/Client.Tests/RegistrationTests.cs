using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FitService.Client.Tests;

public class RegistrationTests
{
    private sealed class Recorder : HttpMessageHandler
    {
        public HttpRequestMessage? Request { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Request = request;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NoContent) { Content = new StringContent("", Encoding.UTF8) });
        }
    }

    [Fact]
    public async Task TheRegisteredClientCallsTheConfiguredServiceWithTheKey()
    {
        var recorder = new Recorder();
        var services = new ServiceCollection();
        services.AddFitServiceClient(o =>
        {
            o.BaseAddress = new Uri("http://fitservice.internal:8080/base");
            o.ApiKey = "k1";
        }).ConfigurePrimaryHttpMessageHandler(() => recorder);
        using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<FitServiceClient>().DeleteFitAsync("f1");

        Assert.Equal("http://fitservice.internal:8080/base/v1/fits/f1", recorder.Request!.RequestUri!.AbsoluteUri);
        Assert.Equal("Bearer k1", recorder.Request.Headers.Authorization!.ToString());
    }

    [Fact]
    public void AMissingBaseAddressIsAConfigurationError()
    {
        var services = new ServiceCollection();
        services.AddFitServiceClient(o => o.ApiKey = "k1");
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<FitServiceClientOptions>>().Value);
        Assert.Contains("BaseAddress", error.Message);
    }
}
