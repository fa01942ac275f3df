using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using FusedNets.Persistence;

namespace FusedNets.Tests.Persistence;

/// <summary>
/// The safetensors format itself, byte by byte: what the writer produces, and which malformed files the
/// reader refuses with a message instead of reading garbage.
/// </summary>
public class SafeTensorsTests
{
    private static readonly SafeTensor Weight = new("L.weight", [2, 3], [1, 2, 3, 4, 5, 6]);
    private static readonly SafeTensor Bias = new("L.bias", [2], [-0.5f, float.Epsilon]);

    [Fact]
    public void The_file_is_a_little_endian_header_length_a_json_header_padded_to_8_bytes_then_the_data()
    {
        byte[] file = Write(new Dictionary<string, string> { ["note"] = "hi" }, Weight, Bias);

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0UL, headerLength % 8);
        string header = Encoding.UTF8.GetString(file, 8, (int)headerLength);
        using JsonDocument json = JsonDocument.Parse(header);
        Assert.Equal("hi", json.RootElement.GetProperty("__metadata__").GetProperty("note").GetString());
        JsonElement weight = json.RootElement.GetProperty("L.weight");
        Assert.Equal("F32", weight.GetProperty("dtype").GetString());
        Assert.Equal([2, 3], weight.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal([0L, 24L], weight.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal([24L, 32L], json.RootElement.GetProperty("L.bias").GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()));

        ReadOnlySpan<byte> data = file.AsSpan(8 + (int)headerLength);
        Assert.Equal(32, data.Length);
        Assert.Equal(6f, BinaryPrimitives.ReadSingleLittleEndian(data[20..]));
        Assert.Equal(float.Epsilon, BinaryPrimitives.ReadSingleLittleEndian(data[28..]));
    }

    [Fact]
    public void What_is_written_reads_back_exactly()
    {
        byte[] file = Write(new Dictionary<string, string> { ["a"] = "1", ["b"] = "ü" }, Weight, Bias);

        SafeTensorsContents contents = SafeTensors.Read(new MemoryStream(file));

        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "ü" }, contents.Metadata);
        Assert.Equal(["L.weight", "L.bias"], contents.Tensors.Select(tensor => tensor.Name));
        Assert.Equal(Weight.Shape, contents.Tensors[0].Shape);
        Assert.Equal(Weight.Values, contents.Tensors[0].Values);
        Assert.Equal(Bias.Values, contents.Tensors[1].Values);
    }

    [Fact]
    public void Tensors_may_lie_in_the_data_section_in_any_order()
    {
        byte[] file = HandWritten(
            """{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""",
            [3f, 1f, 2f]);

        SafeTensorsContents contents = SafeTensors.Read(new MemoryStream(file));

        Assert.Equal([3f], contents.Tensors.Single(tensor => tensor.Name == "b").Values);
        Assert.Equal([1f, 2f], contents.Tensors.Single(tensor => tensor.Name == "a").Values);
    }

    public static TheoryData<string, string, string> MalformedFiles() => new()
    {
        { "not JSON", "{\"a\":", "not valid JSON" },
        { "a dtype other than F32", """{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}""", "Tensor 'a' is F16; FusedNets reads F32 tensors only" },
        { "offsets that disagree with the shape", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", "needs 8 bytes" },
        { "a gap in the data", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "without gaps or overlaps" },
        { "overlapping tensors", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "without gaps or overlaps" },
        { "a name used twice", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "names tensor 'a' twice" },
        { "metadata that is not strings", """{"__metadata__":{"n":1}}""", "not a string" },
        { "data shorter than the header says", """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", "truncated" },
    };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void Malformed_files_are_refused_saying_why(string what, string header, string message)
    {
        byte[] file = HandWritten(header, [1f, 2f]);

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new MemoryStream(file)));
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), $"{what}: {error.Message}");
    }

    [Fact]
    public void An_absurd_header_length_is_refused_before_allocating_it()
    {
        var file = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(file, ulong.MaxValue / 2);

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new MemoryStream(file)));
        Assert.Contains("not a safetensors file", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Write(Dictionary<string, string> metadata, params SafeTensor[] tensors)
    {
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, metadata, tensors);
        return stream.ToArray();
    }

    /// <summary>A file assembled from the specification, not by the writer under test.</summary>
    internal static byte[] HandWritten(string header, float[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        using var file = new MemoryStream();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        file.Write(length);
        file.Write(json);
        var value = new byte[4];
        foreach (float x in data)
        {
            BinaryPrimitives.WriteSingleLittleEndian(value, x);
            file.Write(value);
        }

        return file.ToArray();
    }
}
