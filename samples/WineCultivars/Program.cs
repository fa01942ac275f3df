// Wine cultivars: a classifier for tabular data with FusedNets.
//
// 178 Italian wines from three cultivars, each described by 13 chemical measurements. The measurements live on
// very different scales: hue is about 1, alcohol about 13, magnesium about 100 and proline about 750. A network fed
// such numbers as they are learns mostly from the largest; the usual cure is to standardize each feature, subtracting
// its mean and dividing by its standard deviation. FusedNets does it inside the network: the statistics are estimated
// from the training data, saved with the model and exported to ONNX, so predictions take raw measurements.
//
// Run it:
//   dotnet run --project samples/WineCultivars -c Release
//   dotnet run --project samples/WineCultivars -c Release -- --seed 3     another split of the wines, another start
//
// The last line is for scripts: test_acc=0.XXXX

using System.Globalization;
using FusedNets;
using FusedNets.Data;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int seed = args is ["--seed", var text] ? int.Parse(text, CultureInfo.InvariantCulture) : 0;

// Step 1: the data. scikit-learn's copy of the UCI wine data set opens with a line of counts and class names, then
// one wine per row: 13 measurements and the cultivar (0, 1 or 2). skipRows passes over that first line.
// Data/ATTRIBUTION.md gives the data set's origin (Forina et al., via the UCI repository) and license.
Dataset wines;
using (Stream file = typeof(WineClassifier).Assembly.GetManifestResourceStream("wine_data.csv")
    ?? throw new IOException("wine_data.csv is missing from the program's resources."))
{
    wines = Csv.ReadClassification(file, name: "wine_data.csv", skipRows: 1);
}

// Three sets: a quarter of the wines for the final test, never seen in training; of the rest, a fifth for validation,
// which decides when training stops; the others to train on.
(Dataset rest, Dataset test) = wines.Split(0.25, seed);
(Dataset train, Dataset validation) = rest.Split(0.2, seed);
Console.WriteLine($"{wines.Count} wines: {train.Count} to train on, {validation.Count} to validate, {test.Count} to test");

// Step 2: train. Adam adapts each parameter's step to its own gradients; with a validation set and a patience, Fit
// stops once the validation loss has not improved for 20 epochs and leaves the network as it was after its best epoch.
// Before its first step, Fit estimates the mean and standard deviation of each measurement from the training set.
using var network = new WineClassifier(seed);
IReadOnlyList<EpochReport> epochs = network.Fit(train, new Adam(learningRate: 0.01f), epochs: 300, batchSize: 16, shuffleSeed: seed,
    validation: validation, patience: 20,
    onEpoch: report =>
    {
        if (report.Epoch % 10 == 0)
        {
            Console.WriteLine($"epoch {report.Epoch,3}: loss {report.Loss:F4}, validation loss {report.ValidationLoss:F4}, accuracy {report.ValidationAccuracy:P1}");
        }
    });
EpochReport best = epochs.MinBy(report => report.ValidationLoss)!;
Console.WriteLine($"trained {epochs.Count} epochs; kept epoch {best.Epoch}, whose validation loss {best.ValidationLoss:F4} was the lowest");

Standardization statistics = network.Standardization!;
Console.WriteLine($"standardized with, for instance, proline: mean {statistics.Mean[12]:F1}, deviation {statistics.StandardDeviation[12]:F1}; "
    + $"hue: mean {statistics.Mean[10]:F3}, deviation {statistics.StandardDeviation[10]:F3}");

// Step 3: the test set, measured once. The confusion matrix counts, for each true cultivar (rows), which cultivar
// the network predicted (columns); the diagonal holds the right answers.
Evaluation result = network.Evaluate(test);
ConfusionMatrix matrix = result.ConfusionMatrix!;
Console.WriteLine();
Console.WriteLine("test set: true cultivar (rows), predicted (columns)");
Console.WriteLine($"{"",10}{string.Concat(Enumerable.Range(0, matrix.ClassCount).Select(c => $"{c,6}"))}{"precision",11}{"recall",8}{"F1",6}");
for (int actual = 0; actual < matrix.ClassCount; actual++)
{
    string counts = string.Concat(Enumerable.Range(0, matrix.ClassCount).Select(predicted => $"{matrix[actual, predicted],6}"));
    Console.WriteLine($"{"cultivar " + actual,10}{counts}{matrix.Precision(actual),11:F2}{matrix.Recall(actual),8:F2}{matrix.F1(actual),6:F2}");
}

Console.WriteLine();
Console.WriteLine($"test: loss {result.Loss:F4}, accuracy {result.Accuracy:F4} ({Math.Round(result.Accuracy!.Value * result.Count)} of {result.Count} wines)");

// Step 4: use it. Predict takes a wine's measurements as they were measured: the network standardizes them itself.
// The first wine of the file, a cultivar 0:
WineClassifier.Output scores = network.Predict(WineClassifier.Input.From(
    [14.23f, 1.71f, 2.43f, 15.6f, 127f, 2.8f, 3.06f, 0.28f, 2.29f, 5.64f, 1.04f, 3.92f, 1065f]));
Console.WriteLine($"the first wine of the file is cultivar {Network.ArgMax(scores)}");
Console.WriteLine($"test_acc={result.Accuracy:F4}");

/// <summary>13 measurements, standardized inside the network; 16 hidden units; a score per cultivar.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class WineClassifier
{
    [Input(13, Standardize = true)] public partial Layer Measurements { get; }
    [Dense(16, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(3)] public partial Layer Cultivar { get; }
}
