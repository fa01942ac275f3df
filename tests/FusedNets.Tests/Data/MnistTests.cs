using FusedNets.Data;

namespace FusedNets.Tests.Data;

public sealed class MnistTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Load_reads_train_and_test_sets_from_plain_and_gzip_files()
    {
        _directory.Write("train-images-idx3-ubyte", IdxTests.ImagesFile(3, 2, 2, [.. Enumerable.Range(0, 12).Select(i => (byte)(i * 20))]));
        _directory.Write("train-labels-idx1-ubyte", IdxTests.LabelsFile([5, 0, 4]));
        _directory.WriteGzip("t10k-images-idx3-ubyte.gz", IdxTests.ImagesFile(1, 2, 2, [255, 0, 0, 255]));
        _directory.WriteGzip("t10k-labels-idx1-ubyte.gz", IdxTests.LabelsFile([7]));

        (Dataset train, Dataset test) = Mnist.Load(_directory.Path);

        Assert.Equal((3, 4), (train.Count, train.FeatureCount));
        Assert.Equal([5, 0, 4], train.Labels.ToArray());
        Assert.Equal(40 / 255f, train.FeaturesOf(0)[2]);
        Assert.Equal((1, 4), (test.Count, test.FeatureCount));
        Assert.Equal([1f, 0f, 0f, 1f], test.FeaturesOf(0).ToArray());
        Assert.Equal([7], test.Labels.ToArray());
    }

    [Fact]
    public void A_missing_file_is_named_with_both_spellings()
    {
        _directory.Write("train-images-idx3-ubyte", IdxTests.ImagesFile(1, 1, 1, [0]));

        var error = Assert.Throws<FileNotFoundException>(() => Mnist.Load(_directory.Path));

        Assert.Contains("train-labels-idx1-ubyte", error.Message);
        Assert.Contains("train-labels-idx1-ubyte.gz", error.Message);
    }

    [Fact]
    public void Images_and_labels_of_different_counts_are_reported_with_both_files()
    {
        _directory.Write("train-images-idx3-ubyte", IdxTests.ImagesFile(2, 1, 1, [0, 1]));
        _directory.Write("train-labels-idx1-ubyte", IdxTests.LabelsFile([1, 2, 3]));

        var error = Assert.Throws<InvalidDataException>(() => Mnist.Load(_directory.Path));

        Assert.Contains("2 images", error.Message);
        Assert.Contains("3 labels", error.Message);
        Assert.Contains("train-labels-idx1-ubyte", error.Message);
    }
}
