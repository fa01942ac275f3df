using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using FusedNets.Data;
using FusedNets.Tests.Data;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Hardening;

/// <summary>
/// Every reader survives damaged files: each corrupted version of a real file either reads or throws an
/// <see cref="InvalidDataException"/> that names the file, within a time bound, never another exception, a
/// crash or a hang. Corruptions: truncation, flipped bytes, header fields overwritten with extreme values,
/// inserted and deleted runs of bytes. The random source is seeded, so a failure reproduces.
/// </summary>
public sealed class CorruptFileTests : IDisposable
{
    /// <summary>Versions of each file corrupted; the tests' total stays near ten seconds on two cores.</summary>
    private const int Mutations = 700;

    // Generous, because the suite runs other tests beside these on a machine that may be small and busy; a
    // reader that hangs or scans gigabytes takes far longer.
    private static readonly TimeSpan CaseTimeLimit = TimeSpan.FromSeconds(10);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static byte[] DigitsGzip => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Hardening", "digits.csv.gz"));

    private static byte[] DigitsCsv => Decompress(DigitsGzip);

    /// <summary>The first 120 rows of the digits: big enough to hold every kind of field, quick to read thousands of times.</summary>
    private static byte[] DigitsCsvHead => Encoding.ASCII.GetBytes(string.Join('\n', Encoding.ASCII.GetString(DigitsCsv).Split('\n').Take(120)) + "\n");

    [Fact]
    public void Corrupted_csv_files_read_or_throw_InvalidDataException_naming_the_file()
    {
        int failures = MutateAndRead("digits.csv", DigitsCsvHead, Mutations, CsvFields, path => Csv.ReadClassification(path, featureScale: 1 / 16f));
        failures += MutateAndRead("digits-head.csv.gz", TempDirectory.Gzip(DigitsCsvHead), Mutations / 2, [], path => Csv.ReadClassification(path));
        failures += MutateAndRead("digits.csv.gz", DigitsGzip, 40, [], path => Csv.ReadClassification(path));
        failures += MutateAndRead("digits-regression.csv", DigitsCsvHead, Mutations / 2, CsvFields, path => Csv.ReadRegression(path, targetCount: 2));
        Assert.True(failures > 0, "no corruption was ever detected: the mutations do not reach the reader");
    }

    [Fact]
    public void Corrupted_idx_files_read_or_throw_InvalidDataException_naming_the_file()
    {
        Dataset digits = Csv.ReadClassification(new MemoryStream(DigitsCsvHead));
        byte[] images = IdxImages(digits), labels = IdxLabels(digits);
        HeaderField[] imageHeader = [new(0, 4), new(4, 4), new(8, 4), new(12, 4)];
        HeaderField[] labelHeader = [new(0, 4), new(4, 4)];

        int failures = MutateAndRead("images-idx3-ubyte", images, Mutations, imageHeader, path => Idx.ReadImages(path));
        failures += MutateAndRead("images-idx3-ubyte.gz", TempDirectory.Gzip(images), Mutations / 2, [], path => Idx.ReadImages(path));
        failures += MutateAndRead("labels-idx1-ubyte", labels, Mutations / 2, labelHeader, path => Idx.ReadLabels(path));
        failures += MutateAndRead("labels-idx1-ubyte.gz", TempDirectory.Gzip(labels), Mutations / 4, [], path => Idx.ReadLabels(path));
        Assert.True(failures > 0, "no corruption was ever detected: the mutations do not reach the reader");
    }

    [Fact]
    public void Corrupted_model_files_load_or_throw_InvalidDataException_naming_the_file()
    {
        using var regressor = new TinyRegressor(seed: 4, Backend.Cpu);
        regressor.TrainBatch([0.1f, 0.2f, 0.3f], [0.5f, 0.5f], new Sgd(0.1f, momentum: 0.9f));
        byte[] regressorFile = Persistence.ModelFileTests.SaveToBytes(regressor, includeMomentum: true);
        using var masked = new MaskedClassifier(seed: 4, Backend.Cpu);
        byte[] maskedFile = Persistence.ModelFileTests.SaveToBytes(masked);
        using var convolutional = new ConvRegressor(seed: 4, Backend.Cpu);
        byte[] convolutionalFile = Persistence.ModelFileTests.SaveToBytes(convolutional, includeMomentum: true);

        int failures = MutateAndRead("regressor.safetensors", regressorFile, Mutations, SafeTensorsFields(regressorFile), path => TinyRegressor.Load(path, Backend.Cpu).Dispose());
        failures += MutateAndRead("masked.safetensors", maskedFile, Mutations / 2, SafeTensorsFields(maskedFile), path => MaskedClassifier.Load(path, Backend.Cpu).Dispose());
        failures += MutateAndRead("convolutional.safetensors", convolutionalFile, Mutations / 2, SafeTensorsFields(convolutionalFile), path => ConvRegressor.Load(path, Backend.Cpu).Dispose());
        Assert.True(failures > 0, "no corruption was ever detected: the mutations do not reach the reader");
    }

    /// <summary>A span of bytes that holds one number of a file, which a mutation may overwrite: binary, or text (a CSV field).</summary>
    private readonly record struct HeaderField(int Offset, int Length, bool Text = false);

    /// <summary>
    /// Writes <paramref name="count"/> corrupted versions of <paramref name="original"/> and reads each; returns
    /// how many were refused. The original itself must read.
    /// </summary>
    private int MutateAndRead(string name, byte[] original, int count, HeaderField[] headerFields, Action<string> read)
    {
        string path = _directory.Write(name, original);
        read(path);
        var random = new Random(name.Length * 7919 + count);
        int refused = 0;
        for (int i = 0; i < count; i++)
        {
            (byte[] corrupted, string how) = Mutate(original, headerFields, random);
            File.WriteAllBytes(path, corrupted);
            string what = $"{name}, mutation {i} ({how})";
            // A thread of its own, not the pool's: a hang must not be mistaken for a busy pool, nor the reverse.
            Exception? error = null;
            var reader = new Thread(() =>
            {
                try
                {
                    read(path);
                }
                catch (Exception e)
                {
                    error = e;
                }
            });
            var clock = Stopwatch.StartNew();
            reader.Start();
            Assert.True(reader.Join(CaseTimeLimit), $"{what}: still reading after {CaseTimeLimit.TotalSeconds} s");
            Assert.True(clock.Elapsed < CaseTimeLimit, $"{what}: took {clock.Elapsed}");
            if (error is not null)
            {
                Assert.True(error is InvalidDataException, $"{what}: threw {error}");
                Assert.Contains(path, error.Message, StringComparison.Ordinal);
                refused++;
            }
        }

        return refused;
    }

    private static (byte[] Bytes, string How) Mutate(byte[] original, HeaderField[] headerFields, Random random)
    {
        int kind = random.Next(headerFields.Length > 0 ? 5 : 4);
        switch (kind)
        {
            case 0:
                {
                    int length = random.Next(original.Length);
                    return (original[..length], $"truncated to {length} bytes");
                }

            case 1:
                {
                    byte[] bytes = [.. original];
                    int flips = 1 + random.Next(8);
                    for (int f = 0; f < flips; f++)
                    {
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    }

                    return (bytes, $"{flips} random bytes");
                }

            case 2:
                {
                    int at = random.Next(original.Length + 1);
                    byte[] inserted = new byte[1 + random.Next(16)];
                    random.NextBytes(inserted);
                    return ([.. original[..at], .. inserted, .. original[at..]], $"{inserted.Length} bytes inserted at {at}");
                }

            case 3:
                {
                    int at = random.Next(original.Length);
                    int length = 1 + random.Next(Math.Min(64, original.Length - at));
                    return ([.. original[..at], .. original[(at + length)..]], $"{length} bytes deleted at {at}");
                }

            default:
                {
                    HeaderField field = headerFields[random.Next(headerFields.Length)];
                    if (field.Text)
                    {
                        string text = BadFields[random.Next(BadFields.Length)];
                        return ([.. original[..field.Offset], .. Encoding.UTF8.GetBytes(text), .. original[(field.Offset + field.Length)..]], $"field at {field.Offset} set to \"{text}\"");
                    }

                    byte[] bytes = [.. original];
                    byte[] value = ExtremeValue(field.Length, random);
                    value.CopyTo(bytes, field.Offset);
                    return (bytes, $"header field at {field.Offset} set to {Convert.ToHexString(value)}");
                }
        }
    }

    /// <summary>A number at the edge of what a field can say: 0, all ones, the signed maximum, or random; big-endian ints for binary fields, digits for text.</summary>
    private static byte[] ExtremeValue(int length, Random random)
    {
        var value = new byte[length];
        switch (random.Next(4))
        {
            case 0:
                break;
            case 1:
                value.AsSpan().Fill(0xff);
                break;
            case 2:
                value.AsSpan().Fill(0xff);
                value[0] = 0x7f;
                break;
            default:
                random.NextBytes(value);
                break;
        }

        return value;
    }

    /// <summary>What a damaged or hand-edited CSV field might say instead of a number.</summary>
    private static readonly string[] BadFields =
        ["NaN", "1e999", "-Infinity", "abc", "", " ", "1,2", "0x10", "99999999999999999999", "-1", "3.5", "1e-50", "\"7\"", "\t", "٣", "1 2"];

    /// <summary>Every field of the first rows of the digits CSV.</summary>
    private static HeaderField[] CsvFields
    {
        get
        {
            byte[] text = DigitsCsvHead;
            var fields = new List<HeaderField>();
            for (int start = 0, i = 0; i < 2000; i++)
            {
                if (text[i] is (byte)',' or (byte)'\n')
                {
                    fields.Add(new(start, i - start, Text: true));
                    start = i + 1;
                }
            }

            return [.. fields];
        }
    }

    /// <summary>The 8-byte header length, and every run of digits in the JSON header (shapes and data offsets).</summary>
    private static HeaderField[] SafeTensorsFields(byte[] file)
    {
        var fields = new List<HeaderField> { new(0, 8) };
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        for (int i = 8; i < headerEnd; i++)
        {
            if (char.IsAsciiDigit((char)file[i]) && !char.IsAsciiDigit((char)file[i - 1]))
            {
                int end = i;
                while (end < headerEnd && char.IsAsciiDigit((char)file[end]))
                {
                    end++;
                }

                fields.Add(new(i, end - i));
            }
        }

        return [.. fields];
    }

    private static byte[] IdxImages(Dataset digits)
    {
        var file = new byte[16 + digits.Count * 64];
        BinaryPrimitives.WriteInt32BigEndian(file, Idx.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(file.AsSpan(4), digits.Count);
        BinaryPrimitives.WriteInt32BigEndian(file.AsSpan(8), 8);
        BinaryPrimitives.WriteInt32BigEndian(file.AsSpan(12), 8);
        for (int i = 0; i < digits.Count * 64; i++)
        {
            file[16 + i] = (byte)(digits.Features[i] * 15); // 0..16 counts, stretched towards 0..255
        }

        return file;
    }

    private static byte[] IdxLabels(Dataset digits)
    {
        var file = new byte[8 + digits.Count];
        BinaryPrimitives.WriteInt32BigEndian(file, Idx.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(file.AsSpan(4), digits.Count);
        for (int i = 0; i < digits.Count; i++)
        {
            file[8 + i] = (byte)digits.Labels[i];
        }

        return file;
    }

    private static byte[] Decompress(byte[] gzip)
    {
        using var output = new MemoryStream();
        using (var input = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress))
        {
            input.CopyTo(output);
        }

        return output.ToArray();
    }
}
