namespace FusedNets.Backends.Cpu;

/// <summary>
/// Zeroed floats at a stable, 64-byte aligned address (a cache line and an AVX-512 vector), for the
/// kernels' raw pointers. Backed by a pinned array, so the garbage collector frees it like any other.
/// </summary>
internal sealed unsafe class AlignedBuffer
{
    private const int Alignment = 64;

    // Held only to keep the pinned memory alive.
    private readonly float[] _storage;

    public AlignedBuffer(long length)
    {
        Length = length;
        _storage = GC.AllocateArray<float>(checked((int)length + Alignment / sizeof(float)), pinned: true);
        fixed (float* start = _storage)
        {
            // Pinned: the address stays valid after the fixed block ends.
            Pointer = (float*)(((nint)start + Alignment - 1) & ~(nint)(Alignment - 1));
        }
    }

    public float* Pointer { get; }

    public long Length { get; }

    public Span<float> AsSpan() => new(Pointer, checked((int)Length));
}
