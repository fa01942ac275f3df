using FusedNets.Data;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Training;

/// <summary>
/// Each schedule gives the rates PyTorch's scheduler of the same name gives. The expected values come from the
/// formulas and examples in PyTorch's documentation (torch.optim.lr_scheduler), computed here in double from the
/// decimal hyperparameters as Python computes them, then rounded to the float a float32 model trains with.
/// </summary>
public class LearningRateScheduleTests
{
    private static float[] Rates(LearningRateSchedule schedule, float initialLearningRate, int epochs) =>
        [.. Enumerable.Range(0, epochs).Select(epoch => schedule.LearningRateAt(epoch, initialLearningRate))];

    [Fact]
    public void Step_decay_follows_the_example_in_the_StepLR_documentation()
    {
        // StepLR(optimizer, step_size=30, gamma=0.1) with lr = 0.05: 0.05 for epochs 0-29, 0.005 for 30-59, 0.0005 for 60-89.
        float[] rates = Rates(new StepDecay(stepSize: 30, gamma: 0.1), 0.05f, 90);

        float[] expected = [.. Enumerable.Repeat((float)0.05, 30), .. Enumerable.Repeat((float)(0.05 * 0.1), 30), .. Enumerable.Repeat((float)(0.05 * 0.1 * 0.1), 30)];
        Assert.Equal(expected, rates);
        Assert.Equal([0.05f, 0.005f, 0.0005f], new[] { rates[29], rates[59], rates[89] });
    }

    [Fact]
    public void Step_decay_matches_the_StepLR_recurrence()
    {
        // get_lr: the rate is multiplied by gamma at every epoch that is a positive multiple of step_size.
        double rate = 0.3;
        var expected = new List<float>();
        for (int epoch = 0; epoch < 20; epoch++)
        {
            if (epoch > 0 && epoch % 4 == 0)
            {
                rate *= 0.5;
            }

            expected.Add((float)rate);
        }

        Assert.Equal(expected, Rates(new StepDecay(stepSize: 4, gamma: 0.5), 0.3f, 20));
    }

    [Fact]
    public void Cosine_annealing_follows_the_closed_form_and_climbs_again_past_T_max_as_PyTorch_does()
    {
        // η_t = η_min + (η_max − η_min)(1 + cos(T_cur π / T_max)) / 2, with T_max = 4, η_max = 1, η_min = 0.
        double s = Math.Sqrt(2) / 2; // cos(π/4)
        float[] expected = [1f, (float)((1 + s) / 2), 0.5f, (float)((1 - s) / 2), 0f, (float)((1 - s) / 2), 0.5f, (float)((1 + s) / 2), 1f];

        float[] rates = Rates(new CosineAnnealing(maxEpochs: 4), 1f, 9);

        Assert.Equal(expected.Length, rates.Length);
        for (int epoch = 0; epoch < expected.Length; epoch++)
        {
            // cos(π t / 4) in double is within an ulp of the exact value, which can move the float by one ulp near 0.
            Assert.Equal(expected[epoch], rates[epoch], (float)1e-7);
        }
    }

    [Fact]
    public void Cosine_annealing_matches_the_recursive_form_of_the_CosineAnnealingLR_documentation()
    {
        // η_{t+1} = η_min + (η_t − η_min) (1 + cos((T_cur + 1) π / T_max)) / (1 + cos(T_cur π / T_max)), for T_cur + 1 ≤ T_max.
        const double Max = 0.1, Min = 0.001;
        const int TMax = 10;
        double rate = Max;
        var expected = new List<float> { (float)rate };
        for (int t = 0; t < TMax; t++)
        {
            rate = Min + (rate - Min) * (1 + Math.Cos((t + 1) * Math.PI / TMax)) / (1 + Math.Cos(t * Math.PI / TMax));
            expected.Add((float)rate);
        }

        float[] rates = Rates(new CosineAnnealing(maxEpochs: TMax, minLearningRate: Min), 0.1f, TMax + 1);

        for (int epoch = 0; epoch <= TMax; epoch++)
        {
            Assert.True(Math.Abs(expected[epoch] - rates[epoch]) <= 1e-6 * expected[epoch], $"epoch {epoch}: {rates[epoch]}, expected {expected[epoch]}");
        }

        Assert.Equal((float)Min, rates[TMax]);
    }

    [Fact]
    public void Linear_warmup_follows_the_LinearLR_closed_form_and_then_holds()
    {
        // lr = base · (start + (end − start) · min(t, total_iters) / total_iters), base 0.2, start 0.25, end 1, total_iters 4.
        float[] expected = [(float)(0.2 * 0.25), (float)(0.2 * 0.4375), (float)(0.2 * 0.625), (float)(0.2 * 0.8125), (float)0.2, (float)0.2, (float)0.2];

        Assert.Equal(expected, Rates(new LinearWarmup(epochs: 4, startFactor: 0.25), 0.2f, 7));
    }

    [Fact]
    public void Linear_warmup_by_default_starts_at_a_third_as_LinearLR_does()
    {
        // LinearLR's defaults: start_factor 1/3, end_factor 1; total_iters given.
        float[] expected = [(float)(0.6 * (1.0 / 3)), (float)(0.6 * (1.0 / 3 + (1 - 1.0 / 3) * 1 / 2)), (float)0.6];

        Assert.Equal(expected, Rates(new LinearWarmup(epochs: 2), 0.6f, 3));
    }

    [Fact]
    public void Warmup_then_cosine_is_SequentialLR_restarting_the_cosine_at_the_milestone()
    {
        // SequentialLR([LinearLR(start_factor=0.5, total_iters=3), CosineAnnealingLR(T_max=4)], milestones=[3]), lr = 1:
        // epochs 0-2 are the warm-up's 0.5, 2/3, 5/6; from epoch 3 the cosine runs from its own epoch 0.
        double s = Math.Sqrt(2) / 2;
        float[] expected = [0.5f, (float)(2.0 / 3), (float)(5.0 / 6), 1f, (float)((1 + s) / 2), 0.5f, (float)((1 - s) / 2), 0f];

        float[] rates = Rates(new LinearWarmup(epochs: 3, startFactor: 0.5).Then(new CosineAnnealing(maxEpochs: 4)), 1f, 8);

        Assert.Equal(expected.Length, rates.Length);
        for (int epoch = 0; epoch < expected.Length; epoch++)
        {
            Assert.Equal(expected[epoch], rates[epoch], (float)1e-7);
        }
    }

    [Fact]
    public void Chained_milestones_count_from_the_start_of_the_run()
    {
        LearningRateSchedule schedule = new LinearWarmup(epochs: 2, startFactor: 0.5)
            .Then(new StepDecay(stepSize: 1, gamma: 0.5), milestone: 2)
            .Then(new LinearWarmup(epochs: 1, startFactor: 0.25), milestone: 4);

        Assert.Equal([0.5f, 0.75f, 1f, 0.5f, 0.25f, 1f], Rates(schedule, 1f, 6));
    }

    [Fact]
    public void Fit_trains_each_epoch_at_its_scheduled_rate_exactly_as_separate_runs_at_those_rates()
    {
        Dataset data = SmallData(seed: 4);
        LearningRateSchedule schedule = new StepDecay(stepSize: 1, gamma: 0.5);
        using var scheduled = new TiledClassifier(seed: 2, Backend.Cpu);
        IReadOnlyList<EpochReport> reports = scheduled.Fit(data, new Sgd(0.2f, momentum: 0.9f), epochs: 3, batchSize: 5, shuffleSeed: 1, schedule: schedule);

        using var byHand = new TiledClassifier(seed: 2, Backend.Cpu);
        float[] rates = [0.2f, 0.1f, 0.05f];
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            byHand.Fit(data, new Sgd(rates[epoch - 1], momentum: 0.9f), epochs: 1, batchSize: 5, shuffleSeed: 1, firstEpoch: epoch);
        }

        Assert.Equal(rates, reports.Select(report => report.LearningRate));
        Assert.Equal(Hardening.BadArgumentTests.State(byHand), Hardening.BadArgumentTests.State(scheduled));
    }

    [Fact]
    public void A_resumed_run_takes_the_rates_of_the_same_epochs_of_one_long_run()
    {
        Dataset data = SmallData(seed: 5);
        LearningRateSchedule schedule = new LinearWarmup(epochs: 2).Then(new CosineAnnealing(maxEpochs: 4));
        using var network = new TiledClassifier(seed: 1, Backend.Cpu);

        IReadOnlyList<EpochReport> whole = network.Fit(data, new Sgd(0.1f), epochs: 6, schedule: schedule);
        IReadOnlyList<EpochReport> resumed = network.Fit(data, new Sgd(0.1f), epochs: 3, firstEpoch: 4, schedule: schedule);

        Assert.Equal(whole.Skip(3).Select(report => report.LearningRate), resumed.Select(report => report.LearningRate));
    }

    [Fact]
    public void Without_a_schedule_every_epoch_reports_the_optimizers_rate()
    {
        using var network = new TiledClassifier(seed: 1, Backend.Cpu);

        IReadOnlyList<EpochReport> reports = network.Fit(SmallData(seed: 6), new Sgd(0.03f), epochs: 2);

        Assert.Equal([0.03f, 0.03f], reports.Select(report => report.LearningRate));
    }

    public static TheoryData<string, Func<object>, string> BadSchedules() => new()
    {
        { "StepDecay with a step size of 0", () => new StepDecay(0), "stepSize" },
        { "StepDecay with a gamma of 0", () => new StepDecay(3, gamma: 0), "gamma" },
        { "StepDecay with a gamma above 1", () => new StepDecay(3, gamma: 1.5), "gamma" },
        { "StepDecay with a NaN gamma", () => new StepDecay(3, gamma: double.NaN), "gamma" },
        { "CosineAnnealing over 0 epochs", () => new CosineAnnealing(0), "maxEpochs" },
        { "CosineAnnealing with a negative minimum", () => new CosineAnnealing(10, minLearningRate: -1e-3), "minLearningRate" },
        { "CosineAnnealing with an infinite minimum", () => new CosineAnnealing(10, minLearningRate: double.PositiveInfinity), "minLearningRate" },
        { "LinearWarmup over 0 epochs", () => new LinearWarmup(0), "epochs" },
        { "LinearWarmup from a factor of 0", () => new LinearWarmup(5, startFactor: 0), "startFactor" },
        { "LinearWarmup to a factor above 1", () => new LinearWarmup(5, endFactor: 1.01), "endFactor" },
        { "Then at a milestone of 0", () => new StepDecay(2).Then(new CosineAnnealing(3), milestone: 0), "milestone" },
        { "Then with no next schedule", () => new StepDecay(2).Then(null!, milestone: 3), "next" },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public void A_bad_schedule_setting_is_refused_naming_it(string name, Func<object> create, string parameter)
    {
        var error = Assert.ThrowsAny<ArgumentException>(create);

        Assert.True(parameter == error.ParamName, $"{name}: {error.ParamName}");
    }

    private static Dataset SmallData(int seed)
    {
        var random = new Random(seed);
        float[] features = [.. Enumerable.Range(0, 23 * 37).Select(_ => (float)random.NextDouble() * 2 - 1)];
        int[] labels = [.. Enumerable.Range(0, 23).Select(_ => random.Next(5))];
        return Dataset.ForClassification(features, labels, 37);
    }
}
