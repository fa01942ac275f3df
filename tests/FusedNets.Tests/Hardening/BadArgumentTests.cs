using FusedNets.Data;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Hardening;

/// <summary>
/// Every bad argument is refused before anything changes: the exception names the parameter and the offending
/// value, and the network's parameters and momentum are bit for bit what they were.
/// </summary>
public class BadArgumentTests
{
    private const int In = 37, Classes = 5, Batch = 4;

    private static float[] Inputs(int samples = Batch) => [.. Enumerable.Range(0, samples * In).Select(i => MathF.Sin(i) * 0.5f)];

    private static int[] Labels(int samples = Batch) => [.. Enumerable.Range(0, samples).Select(i => i % Classes)];

    private static float[] With(float[] values, int index, float value)
    {
        values[index] = value;
        return values;
    }

    private static int[] With(int[] values, int index, int value)
    {
        values[index] = value;
        return values;
    }

    private static Dataset Data(float[]? features = null, int[]? labels = null) =>
        Dataset.ForClassification(features ?? Inputs(12), labels ?? Labels(12), In);

    private static readonly Sgd Sgd = new(0.1f, momentum: 0.9f);

    /// <summary>A bad call: what it must throw, for which parameter, quoting which value.</summary>
    public sealed record BadCall<TNetwork>(Action<TNetwork> Call, Type Exception, string Parameter, string Value);

    public static readonly Dictionary<string, BadCall<TiledClassifier>> ClassifierCalls = new()
    {
        ["TrainBatch inputs not a multiple of the input size"] = new(n => n.TrainBatch(Inputs()[..(In * 2 + 1)], Labels(2), Sgd), typeof(ArgumentException), "inputs", "75"),
        ["TrainBatch with no samples"] = new(n => n.TrainBatch([], [], Sgd), typeof(ArgumentException), "inputs", "empty"),
        ["TrainBatch with a label too few"] = new(n => n.TrainBatch(Inputs(), Labels(Batch - 1), Sgd), typeof(ArgumentException), "labels", "3"),
        ["TrainBatch with a label equal to the class count"] = new(n => n.TrainBatch(Inputs(), With(Labels(), 2, Classes), Sgd), typeof(ArgumentOutOfRangeException), "labels", "5"),
        ["TrainBatch with a negative label"] = new(n => n.TrainBatch(Inputs(), With(Labels(), 1, -1), Sgd), typeof(ArgumentOutOfRangeException), "labels", "-1"),
        ["TrainBatch with int.MinValue as a label"] = new(n => n.TrainBatch(Inputs(), With(Labels(), 0, int.MinValue), Sgd), typeof(ArgumentOutOfRangeException), "labels", "-2147483648"),
        ["TrainBatch with a NaN input"] = new(n => n.TrainBatch(With(Inputs(), 41, float.NaN), Labels(), Sgd), typeof(ArgumentException), "inputs", "inputs[41] is NaN"),
        ["TrainBatch with +infinity in the last input"] = new(n => n.TrainBatch(With(Inputs(), Batch * In - 1, float.PositiveInfinity), Labels(), Sgd), typeof(ArgumentException), "inputs", "inputs[147] is Infinity"),
        ["TrainBatch with -infinity in the first input"] = new(n => n.TrainBatch(With(Inputs(), 0, float.NegativeInfinity), Labels(), Sgd), typeof(ArgumentException), "inputs", "inputs[0] is -Infinity"),
        ["TrainBatch with no optimizer"] = new(n => n.TrainBatch(Inputs(), Labels(), null!), typeof(ArgumentNullException), "optimizer", ""),
        ["InputGradient into a span of the wrong length"] = new(n => n.InputGradient(Inputs(), Labels(), new float[In]), typeof(ArgumentException), "inputGradient", "37"),
        ["InputGradient with a NaN input"] = new(n => n.InputGradient(With(Inputs(), 3, float.NaN), Labels(), new float[Batch * In]), typeof(ArgumentException), "inputs", "NaN"),
        ["Predict into too few outputs"] = new(n => n.Predict(Inputs(), new float[Batch * Classes - 1]), typeof(ArgumentException), "outputs", "19"),
        ["Predict inputs not a multiple of the input size"] = new(n => n.Predict(Inputs()[1..], new float[Batch * Classes]), typeof(ArgumentException), "inputs", "147"),
        ["Fit on an empty data set"] = new(n => n.Fit(Dataset.ForClassification([], [], In), Sgd, epochs: 1), typeof(ArgumentException), "data", "empty"),
        ["Fit on a data set of the wrong feature count"] = new(n => n.Fit(Dataset.ForClassification(new float[36], [0], 36), Sgd, epochs: 1), typeof(ArgumentException), "data", "36"),
        ["Fit on a label beyond the classes"] = new(n => n.Fit(Data(labels: With(Labels(12), 11, 7)), Sgd, epochs: 1), typeof(ArgumentException), "data", "labels up to 7"),
        ["Fit on a NaN in the last sample"] = new(n => n.Fit(Data(features: With(Inputs(12), 11 * In + 3, float.NaN)), Sgd, epochs: 1), typeof(ArgumentException), "data", "Feature 3 of sample 11 is NaN"),
        ["Fit on an infinity in the first sample"] = new(n => n.Fit(Data(features: With(Inputs(12), 5, float.PositiveInfinity)), Sgd, epochs: 1), typeof(ArgumentException), "data", "Feature 5 of sample 0 is Infinity"),
        ["Fit with a batch size of 0"] = new(n => n.Fit(Data(), Sgd, epochs: 1, batchSize: 0), typeof(ArgumentOutOfRangeException), "batchSize", "0"),
        ["Fit with a negative batch size"] = new(n => n.Fit(Data(), Sgd, epochs: 1, batchSize: -8), typeof(ArgumentOutOfRangeException), "batchSize", "-8"),
        ["Fit with 0 epochs"] = new(n => n.Fit(Data(), Sgd, epochs: 0), typeof(ArgumentOutOfRangeException), "epochs", "0"),
        ["Fit with a first epoch of 0"] = new(n => n.Fit(Data(), Sgd, epochs: 1, firstEpoch: 0), typeof(ArgumentOutOfRangeException), "firstEpoch", "0"),
        ["Fit with epochs running past int.MaxValue"] = new(n => n.Fit(Data(), Sgd, epochs: 2, firstEpoch: int.MaxValue), typeof(ArgumentOutOfRangeException), "epochs", "2147483647"),
        ["Fit with no data"] = new(n => n.Fit(null!, Sgd, epochs: 1), typeof(ArgumentNullException), "data", ""),
        ["Fit with a patience of 0"] = new(n => n.Fit(Data(), Sgd, epochs: 1, validation: Data(), patience: 0), typeof(ArgumentOutOfRangeException), "patience", "0"),
        ["Fit with a patience but no validation set"] = new(n => n.Fit(Data(), Sgd, epochs: 1, patience: 3), typeof(ArgumentException), "patience", "validation"),
        ["Fit with a validation set of the wrong feature count"] = new(n => n.Fit(Data(), Sgd, epochs: 1, validation: Dataset.ForClassification(new float[36], [0], 36)), typeof(ArgumentException), "validation", "36"),
        ["Fit with a NaN in the validation set's last sample"] = new(n => n.Fit(Data(), Sgd, epochs: 1, validation: Data(features: With(Inputs(12), 11 * In + 1, float.NaN))), typeof(ArgumentException), "validation", "Feature 1 of sample 11 is NaN"),
        ["Fit with a schedule that gives the third epoch a NaN rate"] = new(n => n.Fit(Data(), Sgd, epochs: 3, schedule: new RatesOf(0.1f, 0.1f, float.NaN)), typeof(ArgumentException), "schedule", "epoch 3 a learning rate of NaN"),
        ["Fit with a schedule that gives a negative rate"] = new(n => n.Fit(Data(), Sgd, epochs: 2, schedule: new RatesOf(0.1f, -0.5f)), typeof(ArgumentException), "schedule", "-0.5"),
        ["Evaluate with a batch size of 0"] = new(n => n.Evaluate(Data(), batchSize: 0), typeof(ArgumentOutOfRangeException), "batchSize", "0"),
        ["Evaluate on a NaN feature"] = new(n => n.Evaluate(Data(features: With(Inputs(12), 40, float.NaN))), typeof(ArgumentException), "data", "NaN"),
        ["Evaluate on a regression set"] = new(n => n.Evaluate(Dataset.ForRegression(new float[In], [1f], In, 1)), typeof(ArgumentException), "data", "labels"),
        ["SetParameters with one value too few"] = new(n => n.SetParameters(new float[TiledClassifier.ParameterCount - 1]), typeof(ArgumentException), "source", $"{TiledClassifier.ParameterCount - 1}"),
        ["SetParameters with a NaN"] = new(n => n.SetParameters(With(new float[TiledClassifier.ParameterCount], 17, float.NaN)), typeof(ArgumentException), "source", "source[17] is NaN"),
        ["CopyParametersTo a span one too long"] = new(n => n.CopyParametersTo(new float[TiledClassifier.ParameterCount + 1]), typeof(ArgumentException), "destination", $"{TiledClassifier.ParameterCount + 1}"),
    };

    public static TheoryData<string> ClassifierCallNames() => [.. ClassifierCalls.Keys];

    [Theory]
    [MemberData(nameof(ClassifierCallNames))]
    public void A_bad_call_on_a_classifier_names_the_parameter_and_value_and_changes_nothing(string name)
    {
        BadCall<TiledClassifier> bad = ClassifierCalls[name];
        using var net = TrainedClassifier(Backend.Cpu);
        byte[] before = State(net);

        Exception error = Assert.Throws(bad.Exception, () => bad.Call(net));

        Assert.Equal(bad.Parameter, ((ArgumentException)error).ParamName);
        Assert.Contains(bad.Value, error.Message, StringComparison.Ordinal);
        Assert.Equal(before, State(net));
    }

    public static readonly Dictionary<string, BadCall<TinyRegressor>> RegressorCalls = new()
    {
        ["TrainBatch with a NaN target"] = new(n => n.TrainBatch(new float[6], [1f, float.NaN, 0f, 0f], Sgd), typeof(ArgumentException), "targets", "targets[1] is NaN"),
        ["TrainBatch with an infinite target"] = new(n => n.TrainBatch(new float[6], [0f, 0f, 0f, float.NegativeInfinity], Sgd), typeof(ArgumentException), "targets", "targets[3] is -Infinity"),
        ["TrainBatch with a target too few"] = new(n => n.TrainBatch(new float[6], [0f, 0f, 0f], Sgd), typeof(ArgumentException), "targets", "3"),
        ["Fit on an infinite target"] = new(n => n.Fit(Dataset.ForRegression(new float[9], [0, 0, 0, 0, float.PositiveInfinity, 0], 3, 2), Sgd, 1), typeof(ArgumentException), "data", "Target 0 of sample 2 is Infinity"),
        ["Fit on a classification set"] = new(n => n.Fit(Dataset.ForClassification(new float[3], [0], 3), Sgd, 1), typeof(ArgumentException), "data", "float targets"),
        ["Fit with a classification set for validation"] = new(n => n.Fit(Dataset.ForRegression(new float[3], [0, 0], 3, 2), Sgd, 1, validation: Dataset.ForClassification(new float[3], [0], 3)), typeof(ArgumentException), "validation", "float targets"),
    };

    public static TheoryData<string> RegressorCallNames() => [.. RegressorCalls.Keys];

    [Theory]
    [MemberData(nameof(RegressorCallNames))]
    public void A_bad_call_on_a_regressor_names_the_parameter_and_value_and_changes_nothing(string name)
    {
        BadCall<TinyRegressor> bad = RegressorCalls[name];
        using var net = new TinyRegressor(seed: 2, Backend.Cpu);
        net.TrainBatch([0.1f, 0.2f, 0.3f], [0.5f, 0.5f], Sgd);
        byte[] before = State(net);

        Exception error = Assert.Throws(bad.Exception, () => bad.Call(net));

        Assert.Equal(bad.Parameter, ((ArgumentException)error).ParamName);
        Assert.Contains(bad.Value, error.Message, StringComparison.Ordinal);
        Assert.Equal(before, State(net));
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void A_learning_rate_that_is_not_a_positive_finite_number_is_refused(float learningRate)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(learningRate));

        Assert.Equal("learningRate", error.ParamName);
        Assert.Equal(learningRate, error.ActualValue);
    }

    public static readonly Dictionary<string, Action<TiledClassifier>> CallsAfterDispose = new()
    {
        ["Predict"] = n => n.Predict(Inputs(), new float[Batch * Classes]),
        ["Predict of no samples"] = n => n.Predict([], []),
        ["Predict of one sample"] = n => n.Predict(new TiledClassifier.Input()),
        ["TrainBatch"] = n => n.TrainBatch(Inputs(), Labels(), Sgd),
        ["InputGradient"] = n => n.InputGradient(Inputs(), Labels(), new float[Batch * In]),
        ["Fit"] = n => n.Fit(Data(), Sgd, epochs: 1),
        ["Evaluate"] = n => n.Evaluate(Data()),
        ["CopyParametersTo"] = n => n.CopyParametersTo(new float[TiledClassifier.ParameterCount]),
        ["SetParameters"] = n => n.SetParameters(new float[TiledClassifier.ParameterCount]),
        ["Save"] = n => n.Save(new MemoryStream()),
        ["Layer weights"] = n => _ = n.Wide.Weights.Length,
    };

    public static TheoryData<string> CallsAfterDisposeNames() => [.. CallsAfterDispose.Keys];

    [Theory]
    [MemberData(nameof(CallsAfterDisposeNames))]
    public void Every_call_on_a_disposed_network_throws_ObjectDisposedException(string name)
    {
        var net = new TiledClassifier(seed: 1, Backend.Cpu);
        net.Dispose();
        net.Dispose(); // twice is harmless

        var error = Assert.Throws<ObjectDisposedException>(() => CallsAfterDispose[name](net));
        Assert.Contains(nameof(TiledClassifier), error.ObjectName, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_size_larger_than_the_data_set_is_clamped_to_one_batch_per_epoch()
    {
        Dataset data = Data();
        using var clamped = new TiledClassifier(seed: 1, Backend.Cpu);
        using var exact = new TiledClassifier(seed: 1, Backend.Cpu);

        clamped.Fit(data, Sgd, epochs: 2, batchSize: 1000);
        exact.Fit(data, Sgd, epochs: 2, batchSize: data.Count);

        Assert.Equal(State(exact), State(clamped));
        Assert.NotEqual(State(new TiledClassifier(seed: 1, Backend.Cpu)), State(clamped));
    }

    /// <summary>A schedule of its own, as a user might write one: the given rates, epoch by epoch.</summary>
    private sealed class RatesOf(params float[] rates) : LearningRateSchedule
    {
        public override float LearningRateAt(int epoch, float initialLearningRate) => rates[epoch];

        public override string ToString() => "RatesOf";
    }

    /// <summary>A classifier a step into training, so its momentum is not all zero either.</summary>
    private static TiledClassifier TrainedClassifier(Backend backend)
    {
        var net = new TiledClassifier(seed: 1, backend);
        net.TrainBatch(Inputs(), Labels(), Sgd);
        return net;
    }

    /// <summary>Parameters and momentum, as the bytes of a model file.</summary>
    internal static byte[] State(Network net) => Persistence.ModelFileTests.SaveToBytes(net, includeMomentum: true);
}
