using FitService.Client.Webhooks;
using FitService.Contracts;
using FitService.Examples.ClientService;

var builder = WebApplication.CreateBuilder(args);

var section = builder.Configuration.GetSection(ExampleOptions.Section);
builder.Services.Configure<ExampleOptions>(section);
builder.Services.AddFitServiceClient(o =>
{
    o.BaseAddress = section.GetValue<Uri>(nameof(ExampleOptions.BaseAddress));
    o.ApiKey = section[nameof(ExampleOptions.ApiKey)];
});
// One verifier for the service's lifetime; without a secret there is none, and webhooks are refused
if (section[nameof(ExampleOptions.WebhookSecret)] is { Length: > 0 } secret)
    builder.Services.AddSingleton(new WebhookVerifier(secret));
builder.Services.AddSingleton<ReceivedWebhooks>();
builder.Services.AddProblemDetails();
// Answer in FitService's own JSON format (UTC times with milliseconds), as the payloads it passes on were written
builder.Services.ConfigureHttpJsonOptions(o => WireJson.Configure(o.SerializerOptions));

var app = builder.Build();
app.MapLesson();
app.Run();

public partial class Program;
