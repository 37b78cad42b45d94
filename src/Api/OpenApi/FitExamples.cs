using System.Text.Json;
using System.Text.Json.Nodes;
using FitService.Api.Fits;
using FitService.Engine;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FitService.Api.OpenApi;

/// <summary>
/// Swagger examples: the lesson's fit as the request (so "Try it out" works at once) and, as the answer, what the
/// engine really returns for it — computed once, not written by hand.
/// </summary>
public sealed class FitExamples(IOptions<JsonOptions> json) : IOperationFilter
{
    private static readonly DateTimeOffset Created = new(2026, 11, 28, 9, 15, 2, 123, TimeSpan.Zero);

    public static FitRequest LessonRequest => Lesson(new LearningRateValue(LessonData.LearningRate), degree: 2, model: null);

    private static FitRequest Lesson(LearningRateValue rate, int? degree, ModelDto? model) => new()
    {
        X = LessonData.X,
        Y = LessonData.Y,
        Degree = degree,
        Model = model,
        Loss = "mae",
        LearningRate = rate,
        Steps = 100,
        InitialParams = LessonData.InitialParams,
        Optimizer = new OptimizerDto { Type = "sgd", Momentum = 0, Dampening = 0, Nesterov = false },
        Label = "lesson example",
    };

    /// <summary>Twelve rows of the documented Titanic-like generator (<see cref="TitanicLikeData"/>, seed 1), an mlp with bce on them.</summary>
    public static FitRequest TitanicRequest
    {
        get
        {
            var (x, y) = TitanicLikeData.Generate(12, 1);
            return new FitRequest
            {
                X = new XValues(x, TitanicLikeData.Columns.Count),
                Y = y,
                Model = new ModelDto { Type = NetworkModels.Mlp, Layers = [8], Activation = "relu" },
                Loss = "bce",
                Standardize = true,
                BatchSize = 4,
                Shuffle = true,
                Seed = 7,
                Epochs = 100,
                LearningRate = new LearningRateValue(0.01),
                Optimizer = new OptimizerDto { Type = "adam" },
                Label = "titanic-like",
            };
        }
    }

    private readonly Lazy<FitResource> _finished = new(() =>
    {
        var request = LessonRequest;
        var valid = FitValidator.Validate(request, new LimitsOptions(), new ValidationErrors())!;
        var result = Fitter.Run(FitValidator.ToProblem(valid.Spec, valid.X, valid.Y));
        var optimum = Engine.Exact.ExactSolver.Solve(valid.X, valid.Y, 2, new LossSpec(LossKind.Mae));
        return new FitResource
        {
            Id = "0193f2c4a1b27c3d9e4f5a6b7c8d9e0f",
            Status = "succeeded",
            StopReason = "steps",
            Step = result.Step,
            Steps = valid.Spec.Steps,
            Params = result.Params,
            Loss = result.Loss,
            History = Array.ConvertAll(result.History, h => (double?)h),
            HistoryEvery = 1,
            CreatedAt = Created,
            StartedAt = Created.AddMilliseconds(1),
            FinishedAt = Created.AddMilliseconds(2),
            Label = request.Label,
            Request = valid.Spec,
            Optimum = FitOutcome.ToDto(optimum),
            OptimumStatus = OptimumStatuses.Ready,
            Gap = result.Loss - optimum.Loss,
        };
    });

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var name = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;
        var finished = _finished.Value;
        switch (name)
        {
            case "SubmitFit":
                // Named examples only (OpenAPI forbids `example` beside `examples`); Swagger UI pre-selects the first: the lesson.
                AddExample(operation, "lesson", "the lesson's fit (what the README walks through)", LessonRequest);
                AddExample(operation, "minimal", "only the points: a quadratic by least squares, every other field defaulted",
                    new FitRequest { X = LessonData.X, Y = LessonData.Y });
                AddExample(operation, "auto", "learningRate \"auto\": the finder picks the rate", Lesson(LearningRateValue.Auto, degree: 2, model: null));
                AddExample(operation, "exact", "solver \"exact\": the optimum, no descent", new FitRequest
                {
                    X = LessonData.X, Y = LessonData.Y, Degree = 2, Loss = "mae", Solver = FitValidator.Exact, Label = "lesson optimum",
                });
                AddExample(operation, "formula", "a formula model", Lesson(new LearningRateValue(LessonData.LearningRate), degree: null,
                    model: new ModelDto { Formula = "a*x^2 + b*x + c", Params = ["a", "b", "c"] }));
                AddExample(operation, "relu", "the lesson's curve by a sum of 8 ReLUs (PyTorch's initialization from seed 0)", new FitRequest
                {
                    X = LessonData.X, Y = LessonData.Y, Model = new ModelDto { Type = NetworkModels.Relu, Units = 8 }, Loss = "mse",
                    LearningRate = new LearningRateValue(0.05), Steps = 3000, Seed = 0, Optimizer = new OptimizerDto { Type = "adam" }, Label = "lesson by 8 ReLUs",
                });
                AddExample(operation, "titanic", "who survives, on a small Titanic-like table (pclass, sex, age, sibsp, parch, fare): an mlp with bce, mini-batches",
                    TitanicRequest);
                SetRequestExample(operation, "text/csv", JsonValue.Create("x,y\n-2.0,11.87\n-1.79,6.54\n-1.58,5.94\n"));
                SetResponseExample(operation, "201", Node(finished));
                SetResponseExample(operation, "202", Node(finished with
                {
                    Status = "queued",
                    StopReason = null,
                    Step = 0,
                    Params = null,
                    Loss = null,
                    History = [],
                    StartedAt = null,
                    FinishedAt = null,
                }));
                break;
            case "GetFit":
                SetResponseExample(operation, "200", Node(finished));
                break;
            case "CancelFit":
                SetResponseExample(operation, "202", Node(finished with { Status = "cancelled", StopReason = "cancelled" }));
                break;
        }
    }

    private static readonly JsonSerializerOptions RequestJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private JsonNode? Node<T>(T value) => JsonSerializer.SerializeToNode(value, json.Value.SerializerOptions);

    private static void SetRequestExample(OpenApiOperation operation, string mediaType, JsonNode? example)
    {
        if (operation.RequestBody?.Content is { } content && content.TryGetValue(mediaType, out var media) && media is OpenApiMediaType concrete) concrete.Example = example;
    }

    private static void AddExample(OpenApiOperation operation, string key, string summary, FitRequest request)
    {
        if (operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var media) && media is OpenApiMediaType concrete)
        {
            concrete.Examples ??= new Dictionary<string, IOpenApiExample>();
            concrete.Examples[key] = new OpenApiExample { Summary = summary, Value = JsonSerializer.SerializeToNode(request, RequestJson) };
        }
    }

    private static void SetResponseExample(OpenApiOperation operation, string status, JsonNode? example)
    {
        if (operation.Responses?.TryGetValue(status, out var response) == true && response.Content is { } content &&
            content.TryGetValue("application/json", out var media) && media is OpenApiMediaType concrete)
        {
            concrete.Example = example;
        }
    }
}
