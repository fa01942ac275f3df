using FusedNets.Data;

namespace FusedNets.Tests.Training;

/// <summary>Three classes whose logits are the inputs themselves, once <see cref="EvaluationMetricsTests"/> sets W = I and b = 0.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class LogitsAsInputs
{
    [Input(3)] public partial Layer Logits { get; }
    [Dense(3)] public partial Layer Scores { get; }
}

/// <summary>Two outputs equal to the two inputs, once W = I and b = 0.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class PredictionsAsInputs
{
    [Input(2)] public partial Layer Predictions { get; }
    [Dense(2)] public partial Layer Values { get; }
}

/// <summary>
/// Evaluate's metrics on cases small enough to work out by hand: networks whose outputs are their inputs, so
/// each sample's inputs are the predictions the metrics are computed from.
/// </summary>
public class EvaluationMetricsTests
{
    private static T Identity<T>(T network, Layer layer) where T : Network
    {
        Span<float> weights = layer.Weights;
        weights.Clear();
        for (int i = 0; i < layer.Units; i++)
        {
            weights[i * layer.Inputs + i] = 1;
        }

        layer.Bias.Clear();
        return network;
    }

    private static readonly float Ln2 = MathF.Log(2), Ln7 = MathF.Log(7), Ln18 = MathF.Log(18);

    // Logits whose softmax is (0.9, 0.05, 0.05), (0.7, 0.2, 0.1) or (0.5, 0.25, 0.25), rearranged:
    //   sample  probabilities        label  predicted  confidence
    //   1       0.9   0.05  0.05     0      0          0.9
    //   2       0.05  0.9   0.05     1      1          0.9
    //   3       0.05  0.05  0.9      0      2          0.9   wrong
    //   4       0.7   0.2   0.1      0      0          0.7
    //   5       0.1   0.2   0.7      2      2          0.7
    //   6       0.25  0.5   0.25     2      1          0.5   wrong
    private static readonly Dataset SixSamples = Dataset.ForClassification(
        [Ln18, 0, 0, 0, Ln18, 0, 0, 0, Ln18, Ln7, Ln2, 0, 0, Ln2, Ln7, 0, Ln2, 0], [0, 1, 0, 0, 2, 2], 3);

    [Fact]
    public void A_classifier_gets_its_confusion_matrix_with_labels_as_rows_and_predictions_as_columns()
    {
        using var network = new LogitsAsInputs(seed: 0, Backend.Cpu);
        Evaluation evaluation = Identity(network, network.Scores).Evaluate(SixSamples);

        Assert.Equal(new ConfusionMatrix(new[,] { { 2, 0, 1 }, { 0, 1, 0 }, { 0, 1, 1 } }), evaluation.ConfusionMatrix);
        Assert.Equal(4f / 6, evaluation.Accuracy);
        Assert.Equal(6, evaluation.Count);
        Assert.Null(evaluation.RootMeanSquaredError);
        Assert.Null(evaluation.RSquared);
    }

    [Fact]
    public void Per_class_precision_recall_and_F1_follow_from_the_confusion_matrix()
    {
        using var network = new LogitsAsInputs(seed: 0, Backend.Cpu);
        ConfusionMatrix matrix = Identity(network, network.Scores).Evaluate(SixSamples).ConfusionMatrix!;

        // Class 0: predicted for samples 1 and 4, both right; 3 samples labelled 0. Class 1: predicted for 2 (right)
        // and 6; 1 labelled. Class 2: predicted for 3 and 5 (right); 2 labelled.
        Assert.Equal([1f, 0.5f, 0.5f], Enumerable.Range(0, 3).Select(matrix.Precision));
        Assert.Equal([2f / 3, 1f, 0.5f], Enumerable.Range(0, 3).Select(matrix.Recall));
        Assert.Equal([0.8f, 2f / 3, 0.5f], Enumerable.Range(0, 3).Select(matrix.F1));
        Assert.Equal([3, 1, 2], Enumerable.Range(0, 3).Select(matrix.Support));
        Assert.Equal(6, matrix.Total);
    }

    [Fact]
    public void The_expected_calibration_error_weighs_each_confidence_bins_gap_by_its_share_of_samples()
    {
        using var network = new LogitsAsInputs(seed: 0, Backend.Cpu);
        Evaluation evaluation = Identity(network, network.Scores).Evaluate(SixSamples);

        // Bin (13/15, 14/15]: 3 samples, 2 right, confidence 0.9: 3/6 · |2/3 − 0.9|
        // Bin (10/15, 11/15]: 2 samples, both right, confidence 0.7: 2/6 · |1 − 0.7|
        // Bin (7/15, 8/15]: 1 sample, wrong, confidence 0.5: 1/6 · |0 − 0.5|
        double expected = 3.0 / 6 * Math.Abs(2.0 / 3 - 0.9) + 2.0 / 6 * 0.3 + 1.0 / 6 * 0.5;
        Assert.Equal(0.3, expected, 1e-12);
        Assert.Equal(expected, evaluation.ExpectedCalibrationError!.Value, 1e-6);

        // And the loss is still the mean cross-entropy: −ln of each label's probability.
        double loss = -(Math.Log(0.9) * 2 + Math.Log(0.05) + Math.Log(0.7) * 2 + Math.Log(0.25)) / 6;
        Assert.Equal(loss, evaluation.Loss, 1e-5);
    }

    [Fact]
    public void A_perfectly_confident_and_right_classifier_is_perfectly_calibrated()
    {
        using var network = new LogitsAsInputs(seed: 0, Backend.Cpu);
        Dataset certain = Dataset.ForClassification([100, 0, 0, 0, 0, 100], [0, 2], 3);

        Evaluation evaluation = Identity(network, network.Scores).Evaluate(certain);

        Assert.Equal(0f, evaluation.ExpectedCalibrationError);
        Assert.Equal(1f, evaluation.Accuracy);
    }

    [Fact]
    public void A_regressor_gets_its_RMSE_and_R_squared_averaged_over_its_outputs()
    {
        // Output 1: targets 1, 2, 3, 4 predicted 1, 2, 3, 6: squared errors sum to 4 (RMSE 1); about the mean 2.5
        // the targets spread 5, so R² = 1 − 4/5 = 0.2.
        // Output 2: targets 0, 0, 2, 2 predicted 1, −1, 2, 2: squared errors sum to 2 (RMSE √0.5); spread 4, R² = 0.5.
        Dataset data = Dataset.ForRegression([1, 1, 2, -1, 3, 2, 6, 2], [1, 0, 2, 0, 3, 2, 4, 2], 2, 2);
        using var network = new PredictionsAsInputs(seed: 0, Backend.Cpu);

        Evaluation evaluation = Identity(network, network.Values).Evaluate(data);

        Assert.Equal((1 + Math.Sqrt(0.5)) / 2, evaluation.RootMeanSquaredError!.Value, 1e-6);
        Assert.Equal((0.2 + 0.5) / 2, evaluation.RSquared!.Value, 1e-6);
        Assert.Null(evaluation.Accuracy);
        Assert.Null(evaluation.ConfusionMatrix);
        Assert.Null(evaluation.ExpectedCalibrationError);
    }

    [Fact]
    public void An_output_whose_targets_are_all_equal_counts_1_when_predicted_exactly_and_0_otherwise_as_in_scikit_learn()
    {
        // Output 1: targets 5, 5 predicted 5, 5. Output 2: targets 1, 1 predicted 1, 2.
        Dataset data = Dataset.ForRegression([5, 1, 5, 2], [5, 1, 5, 1], 2, 2);
        using var network = new PredictionsAsInputs(seed: 0, Backend.Cpu);

        Evaluation evaluation = Identity(network, network.Values).Evaluate(data);

        Assert.Equal(0.5f, evaluation.RSquared);
        Assert.Equal(Math.Sqrt(0.5) / 2, evaluation.RootMeanSquaredError!.Value, 1e-6);
    }

    [Fact]
    public void Precision_and_recall_without_a_denominator_are_0_as_scikit_learns_default()
    {
        // Class 1 is never predicted (no precision) and class 2 never occurs (no recall).
        var matrix = new ConfusionMatrix(new[,] { { 3, 0, 1 }, { 2, 0, 0 }, { 0, 0, 0 } });

        Assert.Equal(0f, matrix.Precision(1));
        Assert.Equal(0f, matrix.Recall(1));
        Assert.Equal(0f, matrix.F1(1));
        Assert.Equal(0f, matrix.Recall(2));
        Assert.Equal(0f, matrix.Precision(2));
        Assert.Equal(0.6f, matrix.Precision(0));
        Assert.Equal(0.75f, matrix.Recall(0));
        Assert.Equal(2 * 0.6f * 0.75f / (0.6f + 0.75f), matrix.F1(0), 1e-6f);
    }

    [Fact]
    public void A_confusion_matrix_refuses_counts_that_are_not_square_or_are_negative_and_classes_out_of_range()
    {
        Assert.Equal("counts", Assert.Throws<ArgumentException>(() => new ConfusionMatrix(new int[2, 3])).ParamName);
        Assert.Equal("counts", Assert.Throws<ArgumentException>(() => new ConfusionMatrix(new int[0, 0])).ParamName);
        Assert.Equal("counts", Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix(new[,] { { 1, -1 }, { 0, 0 } })).ParamName);
        var matrix = new ConfusionMatrix(new[,] { { 1, 0 }, { 0, 1 } });
        Assert.Equal("predicted", Assert.Throws<ArgumentOutOfRangeException>(() => matrix[0, 2]).ParamName);
        Assert.Equal("label", Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Precision(-1)).ParamName);
    }

    [Fact]
    public void Equal_evaluations_compare_equal_confusion_matrix_included()
    {
        using var network = new LogitsAsInputs(seed: 0, Backend.Cpu);
        Identity(network, network.Scores);

        Assert.Equal(network.Evaluate(SixSamples), network.Evaluate(SixSamples, batchSize: 4));
    }
}
