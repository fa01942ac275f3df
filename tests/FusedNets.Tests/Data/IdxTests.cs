using System.Buffers.Binary;
using FusedNets.Data;

namespace FusedNets.Tests.Data;

public sealed class IdxTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    /// <summary>An IDX file: the magic number, each dimension, then the values, as MNIST writes them.</summary>
    internal static byte[] IdxFile(int magic, uint[] dimensions, byte[] values)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + values.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int d = 0; d < dimensions.Length; d++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * d), dimensions[d]);
        }

        values.CopyTo(bytes, 4 + 4 * dimensions.Length);
        return bytes;
    }

    internal static byte[] ImagesFile(int count, int rows, int columns, byte[] pixels) =>
        IdxFile(Idx.ImagesMagic, [(uint)count, (uint)rows, (uint)columns], pixels);

    internal static byte[] LabelsFile(byte[] labels) => IdxFile(Idx.LabelsMagic, [(uint)labels.Length], labels);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Images_round_trip_with_pixels_scaled_to_the_unit_range()
    {
        byte[] pixels = [0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6];
        string path = _directory.Write("images", ImagesFile(2, 2, 3, pixels));

        IdxImages images = Idx.ReadImages(path);

        Assert.Equal((2, 2, 3, 6), (images.Count, images.Rows, images.Columns, images.PixelsPerImage));
        Assert.Equal(pixels.Select(p => p / 255f), images.Pixels);
        Assert.Equal(1f, images.Pixels[1]);
    }

    [Fact]
    public void Labels_round_trip()
    {
        string path = _directory.Write("labels", LabelsFile([7, 2, 1, 0, 4, 9]));

        Assert.Equal([7, 2, 1, 0, 4, 9], Idx.ReadLabels(path));
    }

    [Fact]
    public void Gzip_files_are_recognized_by_their_magic_bytes_not_their_name()
    {
        byte[] pixels = [10, 20, 30, 40];
        string named = _directory.WriteGzip("images.gz", ImagesFile(1, 2, 2, pixels));
        string unnamed = _directory.WriteGzip("images-compressed-without-extension", ImagesFile(1, 2, 2, pixels));
        string labels = _directory.WriteGzip("labels.gz", LabelsFile([3, 1]));

        Assert.Equal(pixels.Select(p => p / 255f), Idx.ReadImages(named).Pixels);
        Assert.Equal(pixels.Select(p => p / 255f), Idx.ReadImages(unnamed).Pixels);
        Assert.Equal([3, 1], Idx.ReadLabels(labels));
    }

    [Fact]
    public void A_file_with_no_images_reads_as_empty()
    {
        string path = _directory.Write("images", ImagesFile(0, 28, 28, []));

        IdxImages images = Idx.ReadImages(path);

        Assert.Equal(0, images.Count);
        Assert.Empty(images.Pixels);
    }

    [Fact]
    public void A_wrong_magic_number_is_reported_at_offset_0_with_the_file_name()
    {
        string path = _directory.Write("not-idx", IdxFile(0x12345678, [1, 1, 1], [0]));

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("byte offset 0", error.Message);
        Assert.Contains("0x12345678", error.Message);
    }

    [Fact]
    public void Reading_a_label_file_as_images_says_it_is_a_label_file()
    {
        string path = _directory.Write("labels", LabelsFile([1, 2, 3]));

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));

        Assert.Contains("this is a label file", error.Message);
    }

    [Fact]
    public void An_empty_file_is_reported()
    {
        string path = _directory.Write("empty", []);

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("byte offset 0", error.Message);
    }

    [Fact]
    public void A_file_that_ends_inside_the_header_is_reported_where_it_ends()
    {
        byte[] whole = ImagesFile(1, 2, 2, [1, 2, 3, 4]);
        string path = _directory.Write("short-header", whole[..10]);

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));

        Assert.Contains("byte offset 10", error.Message);
        Assert.Contains("header", error.Message);
    }

    [Fact]
    public void A_truncated_file_is_reported_before_reading_its_data()
    {
        string path = _directory.Write("truncated", ImagesFile(3, 2, 2, [1, 2, 3, 4, 5]));

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("3 × 2 × 2 = 12 bytes", error.Message);
        Assert.Contains("byte offset 21", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_truncated_gzip_file_is_reported_at_the_offset_of_the_decompressed_data()
    {
        string path = _directory.WriteGzip("truncated.gz", LabelsFile([1, 2, 3])[..10]);

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("byte offset 10 of the decompressed data", error.Message);
    }

    [Fact]
    public void Bytes_after_the_claimed_data_are_reported()
    {
        byte[] file = [.. LabelsFile([1, 2, 3]), 99];
        string plain = _directory.Write("long", file);
        string compressed = _directory.WriteGzip("long.gz", file);

        Assert.Contains("byte offset 11", Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(plain)).Message);
        Assert.Contains("byte offset 11", Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(compressed)).Message);
    }

    [Fact]
    public void Dimensions_whose_product_no_array_can_hold_are_rejected()
    {
        string path = _directory.Write("absurd", IdxFile(Idx.ImagesMagic, [2_000_000_000, 28, 28], [0]));

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));

        Assert.Contains("byte offset 8", error.Message);
        Assert.Contains("more than one array can hold", error.Message);
    }

    [Fact]
    public void An_image_with_no_rows_is_rejected()
    {
        string path = _directory.Write("flat", ImagesFile(5, 0, 28, []));

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));

        Assert.Contains("byte offset 8", error.Message);
    }

    [Fact]
    public void A_plain_header_claiming_a_gigabyte_is_rejected_without_allocating_it()
    {
        string path = _directory.Write("liar", ImagesFile(1_000_000, 32, 32, [1, 2, 3]));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("truncated", error.Message);
        Assert.True(allocated < 16 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void A_gzip_header_claiming_a_gigabyte_is_rejected_without_allocating_it()
    {
        string path = _directory.WriteGzip("liar.gz", ImagesFile(1_000_000, 32, 32, new byte[1000]));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("byte offset 1016 of the decompressed data", error.Message);
        Assert.True(allocated < 16 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Corrupt_gzip_data_is_reported_with_the_file_name()
    {
        byte[] compressed = TempDirectory.Gzip(LabelsFile(new byte[5000]));
        for (int i = 20; i < compressed.Length - 8; i++)
        {
            compressed[i] ^= 0x5a;
        }

        string path = _directory.Write("corrupt.gz", compressed);

        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path));

        Assert.Contains(path, error.Message);
    }
}
