using Microsoft.OpenApi;

namespace FitService.Api.OpenApi;

public static class SwaggerExtensions
{
    public static IServiceCollection AddFitSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "FitService",
                Version = "v1",
                Description = "Fits polynomials to points by gradient descent, as in the lesson on how neural networks learn: " +
                    "POST points, a degree, a loss and a learning rate; background workers run the descent with automatic " +
                    "differentiation; read the loss history and the parameters by polling, waiting (`Prefer: wait=N`) or a webhook.",
            });
            options.OperationFilter<FitExamples>();
            options.SchemaFilter<OpenApi.ContractSchemas>();
            options.OperationFilter<OpenApi.ContractOperations>();
            options.DocumentFilter<OpenApi.ContractDocument>();
            options.SupportNonNullableReferenceTypes();
            // A number or "auto". Deliberately without a type: NSwag's C# generator reads a oneOf of primitives as its first branch
            // (a double that throws on "auto"); untyped, NSwag makes it an object, Kiota an UntypedNode and openapi-typescript
            // `unknown`, and each sends and reads both forms.
            options.MapType<LearningRateValue>(() => new OpenApiSchema
            {
                Description = "A finite number > 0, or the string \"auto\" (the learning-rate finder's suggestion).",
            });
            // Numbers or rows. The plain list comes first: NSwag's C# generator takes the first branch of a oneOf (so its clients
            // keep x as a list of doubles), openapi-typescript makes `number[] | number[][]`, Kiota a wrapper with one member per branch.
            options.MapType<XValues>(() => new OpenApiSchema
            {
                Description = "A list of numbers (one feature), or a list of rows of equally many numbers (many features; network models only).",
                OneOf =
                [
                    new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" } },
                    new OpenApiSchema
                    {
                        Type = JsonSchemaType.Array,
                        Items = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" } },
                    },
                ],
            });
            foreach (var assembly in new[] { typeof(Program).Assembly, typeof(Engine.Fitter).Assembly, typeof(FitResource).Assembly })
            {
                var xml = Path.Combine(AppContext.BaseDirectory, assembly.GetName().Name + ".xml");
                if (File.Exists(xml)) options.IncludeXmlComments(xml);
            }
        });
        return services;
    }

    public static void UseFitSwagger(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint("/swagger/v1/swagger.json", "FitService v1");
            options.DocumentTitle = "FitService API";
        });
    }
}
