using FitService.Client.Webhooks;
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

var app = builder.Build();
app.MapLesson();
app.Run();

public partial class Program;
