namespace FusedNets.Data;

/// <summary>
/// Loads MNIST from the four IDX files of its original distribution, each plain or gzip-compressed (".gz"):
/// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte.
/// </summary>
public static class Mnist
{
    /// <summary>
    /// The 60,000 training and 10,000 test images in <paramref name="directory"/>, as 784 features in [0, 1]
    /// (28 × 28 pixels, row-major) with labels 0..9.
    /// </summary>
    public static (Dataset Train, Dataset Test) Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return (LoadPart(directory, "train"), LoadPart(directory, "t10k"));
    }

    private static Dataset LoadPart(string directory, string prefix)
    {
        string imagesPath = Find(directory, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Find(directory, $"{prefix}-labels-idx1-ubyte");
        IdxImages images = Idx.ReadImages(imagesPath);
        int[] labels = Idx.ReadLabels(labelsPath);
        if (images.Count != labels.Length)
        {
            throw new InvalidDataException($"{imagesPath} holds {images.Count} images, but {labelsPath} holds {labels.Length} labels.");
        }

        return Dataset.ForClassification(images.Pixels, labels, images.PixelsPerImage);
    }

    /// <summary>The file named <paramref name="name"/>, else <paramref name="name"/>.gz.</summary>
    private static string Find(string directory, string name)
    {
        string plain = Path.Combine(directory, name);
        string compressed = plain + ".gz";
        if (File.Exists(plain))
        {
            return plain;
        }

        if (File.Exists(compressed))
        {
            return compressed;
        }

        throw new FileNotFoundException($"MNIST file not found: neither {plain} nor {compressed} exists.", plain);
    }
}
