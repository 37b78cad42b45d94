using FitService.Api.OpenApi;

namespace FitService.Api.Http;

/// <summary>
/// Gives every problem-details answer a <c>type</c>: ASP.NET Core fills it in for some status codes only (not 413, 429
/// or 507), and clients switch on it. The values are the contract's (<see cref="ContractValues.ProblemTypes"/>).
/// </summary>
public static class ProblemTypes
{
    public static IServiceCollection AddFitProblemTypes(this IServiceCollection services) =>
        services.PostConfigure<ProblemDetailsOptions>(options =>
        {
            var earlier = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                earlier?.Invoke(context);
                var problem = context.ProblemDetails;
                var status = problem.Status ?? context.HttpContext.Response.StatusCode;
                if (problem.Type is null && ContractValues.ProblemTypes.TryGetValue(status, out var type)) problem.Type = type;
            };
        });
}
