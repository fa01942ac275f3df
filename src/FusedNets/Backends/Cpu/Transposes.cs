using FusedNets.Generated;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// Copies a block of floats with its rows and columns swapped: the batch into feature-major columns, the
/// activations into the sample-major rows the weight gradient reads, and results back out.
/// </summary>
/// <remarks>
/// A scalar transpose moves one float per load and store, about one cycle each, and took a sixth of a
/// 784-128-128-10 training step. Transposing 16 × 16 (AVX-512), 8 × 8 (AVX) or 4 × 4 (SSE, NEON) tiles in
/// registers moves whole vectors both ways instead, several times faster. The results are copies, so every
/// path gives the same bits; the width used here is the hardware's, whatever width the engine computes with.
/// </remarks>
internal static unsafe class Transposes
{
    /// <summary>destination[c, r] = source[r, c] for a <paramref name="rows"/> × <paramref name="columns"/> block.</summary>
    public static void Transpose(float* source, nint sourceStride, float* destination, nint destinationStride, int rows, int columns)
    {
        int wholeRows = 0, wholeColumns = 0;
        if (Avx512F.IsSupported)
        {
            wholeRows = rows & ~15;
            wholeColumns = columns & ~15;
            for (int r = 0; r < wholeRows; r += 16)
            {
                for (int c = 0; c < wholeColumns; c += 16)
                {
                    Tile16(source + r * sourceStride + c, sourceStride, destination + c * destinationStride + r, destinationStride);
                }
            }
        }

        // What the 16 × 16 tiles left: the columns right of them, then the rows below.
        TransposeBy8(source + wholeColumns, sourceStride, destination + wholeColumns * destinationStride, destinationStride, wholeRows, columns - wholeColumns);
        TransposeBy8(source + wholeRows * sourceStride, sourceStride, destination + wholeRows, destinationStride, rows - wholeRows, columns);
    }

    private static void TransposeBy8(float* source, nint sourceStride, float* destination, nint destinationStride, int rows, int columns)
    {
        int wholeRows = 0, wholeColumns = 0;
        if (Avx.IsSupported)
        {
            wholeRows = rows & ~7;
            wholeColumns = columns & ~7;
            for (int r = 0; r < wholeRows; r += 8)
            {
                for (int c = 0; c < wholeColumns; c += 8)
                {
                    Tile8(source + r * sourceStride + c, sourceStride, destination + c * destinationStride + r, destinationStride);
                }
            }
        }

        TransposeBy4(source + wholeColumns, sourceStride, destination + wholeColumns * destinationStride, destinationStride, wholeRows, columns - wholeColumns);
        TransposeBy4(source + wholeRows * sourceStride, sourceStride, destination + wholeRows, destinationStride, rows - wholeRows, columns);
    }

    private static void TransposeBy4(float* source, nint sourceStride, float* destination, nint destinationStride, int rows, int columns)
    {
        int wholeRows = 0, wholeColumns = 0;
        if (Sse2.IsSupported || AdvSimd.Arm64.IsSupported)
        {
            wholeRows = rows & ~3;
            wholeColumns = columns & ~3;
            for (int r = 0; r < wholeRows; r += 4)
            {
                for (int c = 0; c < wholeColumns; c += 4)
                {
                    Tile4(source + r * sourceStride + c, sourceStride, destination + c * destinationStride + r, destinationStride);
                }
            }
        }

        TransposeScalar(source + wholeColumns, sourceStride, destination + wholeColumns * destinationStride, destinationStride, wholeRows, columns - wholeColumns);
        TransposeScalar(source + wholeRows * sourceStride, sourceStride, destination + wholeRows, destinationStride, rows - wholeRows, columns);
    }

    private static void TransposeScalar(float* source, nint sourceStride, float* destination, nint destinationStride, int rows, int columns)
    {
        for (int r = 0; r < rows; r++)
        {
            float* from = source + r * sourceStride;
            for (int c = 0; c < columns; c++)
            {
                destination[c * destinationStride + r] = from[c];
            }
        }
    }

    /// <summary>
    /// One 16 × 16 tile: rows a..p in, columns 0..15 out, in four rounds of 16 shuffles. Each round
    /// interleaves pairs of vectors at a wider grain (32-bit, 64-bit, then twice 128-bit lanes); the
    /// comments give, per 128-bit lane, which rows and columns a vector then holds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile16(float* source, nint sourceStride, float* destination, nint destinationStride)
    {
        // Pairs of rows, 32-bit grain: t0 = a0 b0 a1 b1 | a4 b4 a5 b5 | ..., t1 = a2 b2 a3 b3 | ...
        (Vector512<float> t0, Vector512<float> t1) = Unpack(Avx512F.LoadVector512(source), Avx512F.LoadVector512(source + sourceStride));
        (Vector512<float> t2, Vector512<float> t3) = Unpack(Avx512F.LoadVector512(source + 2 * sourceStride), Avx512F.LoadVector512(source + 3 * sourceStride));
        (Vector512<float> t4, Vector512<float> t5) = Unpack(Avx512F.LoadVector512(source + 4 * sourceStride), Avx512F.LoadVector512(source + 5 * sourceStride));
        (Vector512<float> t6, Vector512<float> t7) = Unpack(Avx512F.LoadVector512(source + 6 * sourceStride), Avx512F.LoadVector512(source + 7 * sourceStride));
        (Vector512<float> t8, Vector512<float> t9) = Unpack(Avx512F.LoadVector512(source + 8 * sourceStride), Avx512F.LoadVector512(source + 9 * sourceStride));
        (Vector512<float> t10, Vector512<float> t11) = Unpack(Avx512F.LoadVector512(source + 10 * sourceStride), Avx512F.LoadVector512(source + 11 * sourceStride));
        (Vector512<float> t12, Vector512<float> t13) = Unpack(Avx512F.LoadVector512(source + 12 * sourceStride), Avx512F.LoadVector512(source + 13 * sourceStride));
        (Vector512<float> t14, Vector512<float> t15) = Unpack(Avx512F.LoadVector512(source + 14 * sourceStride), Avx512F.LoadVector512(source + 15 * sourceStride));

        // Quads of rows, 64-bit grain: u0 = a0 b0 c0 d0 | a4 b4 c4 d4 | a8 .. | a12 .., u1 the same for
        // columns 1, 5, 9, 13, u2 for 2, 6, 10, 14, u3 for 3, 7, 11, 15; u4..u7 rows e..h, and so on.
        (Vector512<float> u0, Vector512<float> u1) = UnpackPairs(t0, t2);
        (Vector512<float> u2, Vector512<float> u3) = UnpackPairs(t1, t3);
        (Vector512<float> u4, Vector512<float> u5) = UnpackPairs(t4, t6);
        (Vector512<float> u6, Vector512<float> u7) = UnpackPairs(t5, t7);
        (Vector512<float> u8, Vector512<float> u9) = UnpackPairs(t8, t10);
        (Vector512<float> u10, Vector512<float> u11) = UnpackPairs(t9, t11);
        (Vector512<float> u12, Vector512<float> u13) = UnpackPairs(t12, t14);
        (Vector512<float> u14, Vector512<float> u15) = UnpackPairs(t13, t15);

        // The last two rounds gather each column's four quads from four vectors (columns j, j + 4,
        // j + 8, j + 12 share u_j, u_(j+4), u_(j+8), u_(j+12)).
        Columns(u0, u4, u8, u12, destination, destinationStride);
        Columns(u1, u5, u9, u13, destination + destinationStride, destinationStride);
        Columns(u2, u6, u10, u14, destination + 2 * destinationStride, destinationStride);
        Columns(u3, u7, u11, u15, destination + 3 * destinationStride, destinationStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Low, Vector512<float> High) Unpack(Vector512<float> a, Vector512<float> b) =>
        (Avx512F.UnpackLow(a, b), Avx512F.UnpackHigh(a, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Low, Vector512<float> High) UnpackPairs(Vector512<float> a, Vector512<float> b) =>
        (Avx512F.UnpackLow(a.AsDouble(), b.AsDouble()).AsSingle(), Avx512F.UnpackHigh(a.AsDouble(), b.AsDouble()).AsSingle());

    /// <summary>
    /// From the quads of column j (rows a..d in <paramref name="abcd"/>, e..h, i..l, m..p), at 128-bit lane
    /// k column j + 4k, stores columns j, j + 4, j + 8 and j + 12; <paramref name="destination"/> is column j.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Columns(Vector512<float> abcd, Vector512<float> efgh, Vector512<float> ijkl, Vector512<float> mnop, float* destination, nint destinationStride)
    {
        // 0x88 takes lanes 0 and 2 of each operand, 0xDD lanes 1 and 3.
        Vector512<float> even0 = Avx512F.Shuffle4x128(abcd, efgh, 0x88); // columns j, j + 8 of a..d, then of e..h
        Vector512<float> odd0 = Avx512F.Shuffle4x128(abcd, efgh, 0xDD);  // columns j + 4, j + 12
        Vector512<float> even1 = Avx512F.Shuffle4x128(ijkl, mnop, 0x88);
        Vector512<float> odd1 = Avx512F.Shuffle4x128(ijkl, mnop, 0xDD);
        Avx512F.Store(destination, Avx512F.Shuffle4x128(even0, even1, 0x88));
        Avx512F.Store(destination + 8 * destinationStride, Avx512F.Shuffle4x128(even0, even1, 0xDD));
        Avx512F.Store(destination + 4 * destinationStride, Avx512F.Shuffle4x128(odd0, odd1, 0x88));
        Avx512F.Store(destination + 12 * destinationStride, Avx512F.Shuffle4x128(odd0, odd1, 0xDD));
    }

    /// <summary>One 8 × 8 tile, the AVX version of <see cref="Tile16"/>: 32-bit, 64-bit, then 128-bit interleaves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8(float* source, nint sourceStride, float* destination, nint destinationStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(source), r1 = Avx.LoadVector256(source + sourceStride);
        Vector256<float> r2 = Avx.LoadVector256(source + 2 * sourceStride), r3 = Avx.LoadVector256(source + 3 * sourceStride);
        Vector256<float> r4 = Avx.LoadVector256(source + 4 * sourceStride), r5 = Avx.LoadVector256(source + 5 * sourceStride);
        Vector256<float> r6 = Avx.LoadVector256(source + 6 * sourceStride), r7 = Avx.LoadVector256(source + 7 * sourceStride);

        // t0 = a0 b0 a1 b1 | a4 b4 a5 b5, t1 = a2 b2 a3 b3 | a6 b6 a7 b7, ...
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);

        // u0 = a0 b0 c0 d0 | a4 b4 c4 d4, u1 columns 1 and 5, u2 2 and 6, u3 3 and 7; u4..u7 rows e..h.
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);

        // 0x20 joins the low halves (column j), 0x31 the high halves (column j + 4).
        Avx.Store(destination, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(destination + destinationStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(destination + 2 * destinationStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(destination + 3 * destinationStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(destination + 4 * destinationStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(destination + 5 * destinationStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(destination + 6 * destinationStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(destination + 7 * destinationStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>One 4 × 4 tile, for SSE and NEON: 32-bit, then 64-bit interleaves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4(float* source, nint sourceStride, float* destination, nint destinationStride)
    {
        Vector128<float> a = Vector128.Load(source), b = Vector128.Load(source + sourceStride);
        Vector128<float> c = Vector128.Load(source + 2 * sourceStride), d = Vector128.Load(source + 3 * sourceStride);

        // ab01 = a0 b0 a1 b1, ab23 = a2 b2 a3 b3, and the same for rows c and d.
        (Vector128<float> ab01, Vector128<float> ab23) = Interleave(a, b);
        (Vector128<float> cd01, Vector128<float> cd23) = Interleave(c, d);

        // Pairs of pairs: column 0 = (a0 b0)(c0 d0), column 1 = (a1 b1)(c1 d1), ...
        (Vector128<float> column0, Vector128<float> column1) = Interleave(ab01.AsDouble(), cd01.AsDouble());
        (Vector128<float> column2, Vector128<float> column3) = Interleave(ab23.AsDouble(), cd23.AsDouble());
        column0.Store(destination);
        column1.Store(destination + destinationStride);
        column2.Store(destination + 2 * destinationStride);
        column3.Store(destination + 3 * destinationStride);
    }

    /// <summary>The low halves of <paramref name="x"/> and <paramref name="y"/> interleaved lane by lane (x0 y0 x1 y1), then the high halves (x2 y2 x3 y3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float> Low, Vector128<float> High) Interleave(Vector128<float> x, Vector128<float> y) =>
        Sse2.IsSupported
            ? (Sse.UnpackLow(x, y), Sse.UnpackHigh(x, y))
            : (AdvSimd.Arm64.ZipLow(x, y), AdvSimd.Arm64.ZipHigh(x, y));

    /// <summary><see cref="Interleave(Vector128{float}, Vector128{float})"/> with 64-bit lanes: (x0 y0) and (x1 y1), as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float> Low, Vector128<float> High) Interleave(Vector128<double> x, Vector128<double> y) =>
        Sse2.IsSupported
            ? (Sse2.UnpackLow(x, y).AsSingle(), Sse2.UnpackHigh(x, y).AsSingle())
            : (AdvSimd.Arm64.ZipLow(x, y).AsSingle(), AdvSimd.Arm64.ZipHigh(x, y).AsSingle());
}
