namespace FitService.Client.Tests;

/// <summary>The lesson's data: f(x) = 3x² + 2x + 1 with numpy's seed-42 noise, 20 points on [-2, 2]; MAE 2.4219 at (1.1, 1.1, 1.1).</summary>
internal static class Lesson
{
    public static readonly double[] X =
    [
        -2.0, -1.7894736842105263, -1.5789473684210527, -1.368421052631579, -1.1578947368421053,
        -0.9473684210526316, -0.736842105263158, -0.5263157894736843, -0.3157894736842106, -0.10526315789473695,
        0.10526315789473673, 0.3157894736842106, 0.5263157894736841, 0.7368421052631575, 0.9473684210526314,
        1.1578947368421053, 1.3684210526315788, 1.5789473684210522, 1.789473684210526, 2.0,
    ];

    public static readonly double[] Y =
    [
        11.869037259947495, 6.5432843586588545, 5.939606579202841, 2.6303700318270353, 1.7947412121991926,
        1.9010286691658997, -0.2977375638897217, 1.4315452929860846, -0.2803804699240482, 0.45212987376369906,
        0.2547498278860447, 4.574284186082602, 2.968071084513697, 1.3385438382815777, 5.37544094093368,
        4.887778985586678, 8.246675990830116, 9.246153973833827, 10.26118714933485, 13.693917415398694,
    ];

    /// <summary>The lesson's fit: a quadratic, MAE, rate 0.01 from a = b = c = 1.1.</summary>
    public static FitRequest Request(int steps = 100, string? label = null, string? webhook = null, int? historyEvery = null) => new()
    {
        X = X,
        Y = Y,
        Degree = 2,
        Loss = "mae",
        LearningRate = new LearningRateValue(0.01),
        Steps = steps,
        InitialParams = [1.1, 1.1, 1.1],
        HistoryEvery = historyEvery,
        Label = label,
        Webhook = webhook is null ? null : new WebhookDto { Url = webhook },
    };
}
