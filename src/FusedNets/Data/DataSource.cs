using System.IO.Compression;

namespace FusedNets.Data;

/// <summary>
/// What the readers share: opening a file that may be gzip-compressed, and errors that name the file.
/// </summary>
internal static class DataSource
{
    /// <summary>Every gzip stream starts with these two bytes (RFC 1952); no IDX or text file does.</summary>
    private const byte GzipMagic1 = 0x1f, GzipMagic2 = 0x8b;

    /// <summary>
    /// <paramref name="stream"/> itself if it can seek; otherwise (a network or pipe stream) a copy of what is
    /// left of it in memory, read only as far as it actually goes.
    /// </summary>
    public static Stream Seekable(Stream stream)
    {
        if (stream.CanSeek)
        {
            return stream;
        }

        var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }

    /// <summary>
    /// <paramref name="stream"/> from its current position, decompressed if it starts with the gzip magic bytes.
    /// Disposing the result never disposes <paramref name="stream"/>; its owner still does.
    /// </summary>
    public static Stream Decompressed(Stream stream, out bool compressed)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream = Seekable(stream); // peeking needs a rewind

        long start = stream.Position;
        Span<byte> magic = stackalloc byte[2];
        int read = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        stream.Position = start;

        compressed = read == 2 && magic[0] == GzipMagic1 && magic[1] == GzipMagic2;
        return compressed ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : stream;
    }

    /// <summary>
    /// Reads into <paramref name="buffer"/> until it is full or the data ends; returns the bytes read.
    /// A corrupt gzip stream becomes an error that names the file.
    /// </summary>
    public static int ReadUpTo(Stream stream, Span<byte> buffer, string source, long offset)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw CorruptGzip(source, offset, e);
        }
    }

    /// <summary>The next line, or null at the end; a corrupt gzip stream becomes an error that names the file.</summary>
    public static string? ReadLine(TextReader reader, string source, long lineNumber)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{source}, line {lineNumber}: the gzip data is corrupt ({e.Message})", e);
        }
    }

    /// <summary>An error in <paramref name="source"/> at a byte offset (of the decompressed data for a .gz file).</summary>
    public static InvalidDataException ErrorAt(string source, long offset, bool compressed, string problem) =>
        new($"{source}, byte offset {offset}{(compressed ? " of the decompressed data" : "")}: {problem}");

    private static InvalidDataException CorruptGzip(string source, long offset, InvalidDataException inner) =>
        new($"{source}: the gzip data is corrupt after {offset} decompressed bytes ({inner.Message})", inner);
}
