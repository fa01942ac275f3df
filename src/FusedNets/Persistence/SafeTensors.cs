using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace FusedNets.Persistence;

/// <summary>One named float32 tensor: <see cref="Values"/> holds the elements row-major.</summary>
internal sealed record SafeTensor(string Name, int[] Shape, float[] Values)
{
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>What a safetensors file holds: its string metadata, and its tensors in header order.</summary>
internal sealed record SafeTensorsContents(IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<SafeTensor> Tensors);

/// <summary>
/// Reads and writes the safetensors format (F32 tensors only): an 8-byte little-endian header length N, N
/// bytes of UTF-8 JSON naming each tensor's dtype, shape and [begin, end) byte range in the data section,
/// plus an optional "__metadata__" object of strings; then the data section, little-endian.
/// </summary>
internal static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const string Float32 = "F32";

    // The Python library pads the header with spaces so the data section starts 8-byte aligned.
    private const int HeaderAlignment = 8;

    // The Python library refuses larger headers too; the limit stops a corrupt length from asking for gigabytes.
    private const ulong MaxHeaderBytes = 100_000_000;

    public static void Write(Stream stream, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafeTensor> tensors)
    {
        byte[] header = Header(metadata, tensors);
        Span<byte> length = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (SafeTensor tensor in tensors)
        {
            var bytes = new byte[tensor.Values.Length * sizeof(float)];
            for (int i = 0; i < tensor.Values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), tensor.Values[i]);
            }

            stream.Write(bytes);
        }
    }

    /// <summary>
    /// Reads a whole file; anything malformed is an <see cref="InvalidDataException"/> saying what and where,
    /// prefixed with <paramref name="path"/> when given. Nothing is allocated for a size the file claims before
    /// the file is known to hold that much.
    /// </summary>
    public static SafeTensorsContents Read(Stream stream, string? path = null)
    {
        string prefix = path is null ? "" : path + ": ";
        stream = FusedNets.Data.DataSource.Seekable(stream); // the sizes in the file are checked against its length

        long fileStart = stream.Position;
        var length = new byte[sizeof(ulong)];
        ReadExactly(stream, length, "the 8-byte header length", prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        long available = stream.Length - stream.Position;
        if (headerLength > MaxHeaderBytes)
        {
            throw new InvalidDataException($"{prefix}The safetensors header claims {headerLength} bytes, more than the {MaxHeaderBytes} allowed: this is not a safetensors file.");
        }

        if ((long)headerLength > available)
        {
            throw new InvalidDataException($"{prefix}The safetensors header claims {headerLength} bytes, but only {available} follow the header length: the file is truncated or not a safetensors file.");
        }

        var header = new byte[headerLength];
        ReadExactly(stream, header, "the header", prefix);
        (Dictionary<string, string> metadata, List<TensorEntry> entries) = ParseHeader(header, prefix);

        long dataStart = sizeof(ulong) + (long)headerLength;
        long dataLength = CheckDataLayout(entries, prefix);
        available = stream.Length - stream.Position;
        if (dataLength > available)
        {
            throw new InvalidDataException(
                $"{prefix}The header places tensor data up to byte {dataLength} of the data section (file offset {dataStart + dataLength}), but the file ends at offset {fileStart + dataStart + available} (truncated?).");
        }

        var data = new byte[dataLength];
        ReadExactly(stream, data, "the tensor data", prefix);

        var tensors = new List<SafeTensor>(entries.Count);
        foreach (TensorEntry entry in entries)
        {
            var values = new float[(entry.End - entry.Begin) / sizeof(float)];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan((int)entry.Begin + i * sizeof(float)));
                if (!float.IsFinite(values[i]))
                {
                    // No trained network holds one (training refuses to take such a step): the file is damaged.
                    throw new InvalidDataException(
                        $"{prefix}Element {i} of tensor '{entry.Name}' is {values[i]} (byte offset {dataStart + entry.Begin + i * sizeof(float)}): a model's values must be finite.");
                }
            }

            tensors.Add(new SafeTensor(entry.Name, entry.Shape, values));
        }

        return new SafeTensorsContents(metadata, tensors);
    }

    private static byte[] Header(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafeTensor> tensors)
    {
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata.Count > 0)
            {
                writer.WriteStartObject(MetadataKey);
                foreach ((string key, string value) in metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            long offset = 0;
            foreach (SafeTensor tensor in tensors)
            {
                long end = offset + (long)tensor.Values.Length * sizeof(float);
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", Float32);
                writer.WriteStartArray("shape");
                foreach (int dimension in tensor.Shape)
                {
                    writer.WriteNumberValue(dimension);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(end);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset = end;
            }

            writer.WriteEndObject();
        }

        int padding = (HeaderAlignment - (int)(json.Length % HeaderAlignment)) % HeaderAlignment;
        json.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        return json.ToArray();
    }

    private sealed record TensorEntry(string Name, int[] Shape, long Begin, long End);

    private static (Dictionary<string, string> Metadata, List<TensorEntry> Entries) ParseHeader(byte[] header, string prefix)
    {
        // JsonDocument leaves invalid UTF-8 inside strings to be found when a name is read, as an
        // InvalidOperationException; checking first keeps every malformed header an InvalidDataException.
        if (System.Text.Unicode.Utf8.ToUtf16(header, new char[header.Length], out int validBytes, out _, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
        {
            throw new InvalidDataException($"{prefix}The safetensors header is not UTF-8: byte offset {sizeof(ulong) + validBytes} is not part of a character.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{prefix}The safetensors header (from byte offset {sizeof(ulong)}) is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{prefix}The safetensors header is not a JSON object.");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<TensorEntry>();
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    ParseMetadata(property.Value, metadata, prefix);
                }
                else if (entries.Any(entry => entry.Name == property.Name))
                {
                    throw new InvalidDataException($"{prefix}The safetensors header names tensor '{property.Name}' twice.");
                }
                else
                {
                    entries.Add(ParseTensor(property.Name, property.Value, prefix));
                }
            }

            return (metadata, entries);
        }
    }

    private static void ParseMetadata(JsonElement element, Dictionary<string, string> metadata, string prefix)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{prefix}The safetensors \"__metadata__\" is not a JSON object.");
        }

        foreach (JsonProperty entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"{prefix}The safetensors metadata value of '{entry.Name}' is not a string.");
            }

            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static TensorEntry ParseTensor(string name, JsonElement element, string prefix)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("dtype", out JsonElement dtype) || dtype.ValueKind != JsonValueKind.String
            || !element.TryGetProperty("shape", out JsonElement shape) || shape.ValueKind != JsonValueKind.Array
            || !element.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{prefix}Tensor '{name}' lacks a dtype, a shape or two data_offsets.");
        }

        if (dtype.GetString() != Float32)
        {
            throw new InvalidDataException($"{prefix}Tensor '{name}' is {dtype.GetString()}; FusedNets reads {Float32} tensors only.");
        }

        var dimensions = new int[shape.GetArrayLength()];
        long elements = 1;
        for (int i = 0; i < dimensions.Length; i++)
        {
            if (shape[i].ValueKind != JsonValueKind.Number || !shape[i].TryGetInt32(out dimensions[i]) || dimensions[i] < 0)
            {
                throw new InvalidDataException($"{prefix}Tensor '{name}' has a shape entry that is not a size: {shape[i]}.");
            }

            elements *= dimensions[i];
            if (elements > Array.MaxLength)
            {
                throw new InvalidDataException($"{prefix}Tensor '{name}' has more elements than FusedNets can hold.");
            }
        }

        long begin = 0, end = 0;
        if (offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out begin) || !offsets[1].TryGetInt64(out end) || begin < 0 || end < begin || end - begin != elements * sizeof(float))
        {
            throw new InvalidDataException(
                $"Tensor '{name}' of shape [{string.Join(", ", dimensions)}] needs {elements * sizeof(float)} bytes, but its data_offsets are {offsets}.");
        }

        return new TensorEntry(name, dimensions, begin, end);
    }

    /// <summary>The format requires the tensors to tile the data section: no gaps, no overlaps.</summary>
    private static long CheckDataLayout(List<TensorEntry> entries, string prefix)
    {
        long position = 0;
        foreach (TensorEntry entry in entries.OrderBy(entry => entry.Begin).ThenBy(entry => entry.End))
        {
            if (entry.Begin != position)
            {
                throw new InvalidDataException(
                    $"{prefix}Tensor '{entry.Name}' starts at byte {entry.Begin} of the data section, but the previous tensor ends at {position}: the tensors must cover the data without gaps or overlaps.");
            }

            position = entry.End;
        }

        if (position > Array.MaxLength)
        {
            throw new InvalidDataException($"{prefix}The tensor data takes {position} bytes, more than FusedNets can hold.");
        }

        return position;
    }

    private static void ReadExactly(Stream stream, byte[] buffer, string what, string prefix)
    {
        long start = stream.Position;
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{prefix}The file ends inside {what}, which starts at byte offset {start}: it is truncated or not a safetensors file.", e);
        }
    }
}
