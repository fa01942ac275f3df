using System.Buffers.Binary;

namespace FusedNets.Data;

/// <summary>Images from an IDX file: <see cref="Count"/> images of <see cref="Rows"/> × <see cref="Columns"/> pixels.</summary>
/// <param name="Pixels">Count × Rows × Columns values, image after image, row-major, scaled from 0..255 to [0, 1].</param>
/// <param name="Count">The number of images.</param>
/// <param name="Rows">The height of each image.</param>
/// <param name="Columns">The width of each image.</param>
public sealed record IdxImages(float[] Pixels, int Count, int Rows, int Columns)
{
    /// <summary>Rows × Columns: the feature count of a network that reads these images.</summary>
    public int PixelsPerImage => Rows * Columns;
}

/// <summary>
/// Reads the IDX files MNIST ships in. An IDX file is a big-endian header — two zero bytes, a type byte
/// (0x08: unsigned bytes), the number of dimensions, then each dimension as a 32-bit integer — followed by
/// the values. Plain and gzip-compressed files are both read; gzip is recognized by its magic bytes, not the name.
/// </summary>
/// <remarks>
/// A malformed file raises <see cref="InvalidDataException"/> naming the file and the byte offset. The header is
/// checked against the data actually present before anything of its claimed size is allocated.
/// </remarks>
public static class Idx
{
    /// <summary>The magic number of an image file: unsigned bytes, 3 dimensions [count, rows, columns].</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>The magic number of a label file: unsigned bytes, 1 dimension [count].</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>How much a compressed file's data buffer starts at; it grows only as data actually arrives.</summary>
    private const int InitialBufferLength = 1 << 20;

    /// <summary>Reads an image file (magic 0x00000803), scaling each pixel byte to [0, 1].</summary>
    public static IdxImages ReadImages(string path)
    {
        (byte[] data, int[] dimensions) = Read(path, ImagesMagic);
        var pixels = new float[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            pixels[i] = data[i] / 255f;
        }

        return new IdxImages(pixels, dimensions[0], dimensions[1], dimensions[2]);
    }

    /// <summary>Reads a label file (magic 0x00000801): one class per byte.</summary>
    public static int[] ReadLabels(string path)
    {
        (byte[] data, _) = Read(path, LabelsMagic);
        var labels = new int[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            labels[i] = data[i];
        }

        return labels;
    }

    /// <summary>Checks the header against <paramref name="expectedMagic"/> and the file, then reads the values.</summary>
    private static (byte[] Data, int[] Dimensions) Read(string path, int expectedMagic)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        using Stream stream = DataSource.Decompressed(file, out bool compressed);
        InvalidDataException ErrorAt(long offset, string problem) => DataSource.ErrorAt(path, offset, compressed, problem);

        // The magic number's low byte is the number of dimensions, so it also fixes the header's length.
        int dimensionCount = expectedMagic & 0xff;
        int headerLength = 4 + 4 * dimensionCount;
        Span<byte> header = stackalloc byte[headerLength];
        int headerRead = DataSource.ReadUpTo(stream, header, path, 0);
        if (headerRead < 4)
        {
            throw ErrorAt(headerRead, "the file ends inside the 4-byte magic number; is it an IDX file?");
        }

        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != expectedMagic)
        {
            throw ErrorAt(0, $"the magic number is 0x{magic:X8}, but {Describe(expectedMagic)} start with 0x{expectedMagic:X8}{Hint(magic)}");
        }

        if (headerRead < headerLength)
        {
            throw ErrorAt(headerRead, $"the file ends inside the {headerLength}-byte header");
        }

        var dimensions = new int[dimensionCount];
        long byteCount = 1;
        for (int d = 0; d < dimensionCount; d++)
        {
            int offset = 4 + 4 * d;
            uint size = BinaryPrimitives.ReadUInt32BigEndian(header[offset..]);
            // Every dimension past the count is an image side: an image with no pixels is not an image.
            if (size > Array.MaxLength || (d > 0 && size == 0))
            {
                throw ErrorAt(offset, $"dimension {d} of the header is {size}, which is not a plausible size");
            }

            dimensions[d] = (int)size;
            byteCount *= size;
            if (byteCount > Array.MaxLength)
            {
                throw ErrorAt(offset, $"the header claims {Shape(dimensions, d + 1)} values, more than one array can hold");
            }
        }

        string claim = $"the header claims {Shape(dimensions, dimensionCount)} = {byteCount} bytes of data";
        if (stream.CanSeek)
        {
            // A plain file: compare the claim with the file's length before allocating anything.
            long available = stream.Length - headerLength;
            if (available < byteCount)
            {
                throw ErrorAt(stream.Length, $"{claim}, but the file ends after {available} (truncated?)");
            }

            if (available > byteCount)
            {
                throw ErrorAt(headerLength + byteCount, $"{claim}, but {available - byteCount} more bytes follow them");
            }
        }

        byte[] data = ReadData(stream, (int)byteCount, headerLength, stream.CanSeek ? (int)byteCount : InitialBufferLength, path, ErrorAt, claim);
        return (data, dimensions);
    }

    /// <summary>
    /// Reads exactly <paramref name="byteCount"/> bytes and checks that nothing follows. The buffer grows only as
    /// data arrives, so a compressed file whose header lies cannot make us allocate gigabytes.
    /// </summary>
    private static byte[] ReadData(
        Stream stream, int byteCount, int headerLength, int initialLength, string path, Func<long, string, InvalidDataException> errorAt, string claim)
    {
        var data = new byte[Math.Min(byteCount, initialLength)];
        int filled = 0;
        while (true)
        {
            filled += DataSource.ReadUpTo(stream, data.AsSpan(filled), path, headerLength + filled);
            if (filled < data.Length)
            {
                throw errorAt(headerLength + filled, $"{claim}, but the data ends after {filled} (truncated?)");
            }

            if (filled == byteCount)
            {
                break;
            }

            Array.Resize(ref data, (int)Math.Min(2L * data.Length, byteCount));
        }

        Span<byte> probe = stackalloc byte[1];
        if (DataSource.ReadUpTo(stream, probe, path, headerLength + filled) != 0)
        {
            throw errorAt(headerLength + filled, $"{claim}, but more data follows them");
        }

        return data;
    }

    private static string Describe(int magic) => magic == ImagesMagic ? "IDX image files" : "IDX label files";

    /// <summary>Names the likely mix-up when the magic number belongs to the other kind of file.</summary>
    private static string Hint(int magic) => magic switch
    {
        ImagesMagic => " (this is an image file)",
        LabelsMagic => " (this is a label file)",
        _ => "",
    };

    private static string Shape(int[] dimensions, int count) => string.Join(" × ", dimensions.Take(count));
}
