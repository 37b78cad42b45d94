namespace FitService.Engine.Tests;

/// <summary>The fast.ai lesson, reproduced.</summary>
public class LessonTests
{
    [Fact]
    public void InitialMaeAtOnePointOneIs2_4219()
    {
        var loss = Fitter.Evaluate(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mae), LessonData.InitialParams);
        Assert.Equal(2.4219, Math.Round(loss, 4));
    }

    [Fact]
    public void AccumulatingLoopPrintsTheLessonsSequence()
    {
        var result = Fitter.Run(LessonData.Problem(steps: 11));

        var printed = result.History.Select(l => l.ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(["2.42", "2.40", "2.36", "2.30", "2.21", "2.11", "1.98", "1.85", "1.72", "1.58", "1.46"], printed);
        Assert.Equal(StopReason.Steps, result.StopReason);
        Assert.Equal(11, result.Step);
    }

    [Fact]
    public void LessonDataMatchesTheShippedJson()
    {
        var data = TestData.Load("lesson.json");
        Assert.Equal(data.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()), LessonData.X);
        Assert.Equal(data.GetProperty("y").EnumerateArray().Select(e => e.GetDouble()), LessonData.Y);
    }
}
