namespace FusedNets.Backends.Cpu;

/// <summary>How the CPU kernels pad rows: to whole vectors, and away from cache-set aliasing.</summary>
internal static class CpuLayout
{
    public static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// <paramref name="floats"/> rounded up to whole vectors, plus one more vector when that is a multiple
    /// of 1 KiB: rows a power-of-two apart map to the same few cache sets, so walking W down a column (the
    /// backward) or writing a column of a sample-major copy evicts its own lines. One vector of padding
    /// spreads the rows over every set, for a few percent more work in the weight update.
    /// </summary>
    public static int PaddedStride(int floats, int width)
    {
        int stride = RoundUp(floats, width);
        return stride % 256 == 0 ? stride + width : stride;
    }
}
