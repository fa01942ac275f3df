using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FusedNets.Bench;

/// <summary>
/// The machine's single-precision FMA peak at the engine's vector width, measured rather than looked up:
/// every thread runs a loop of independent vector multiply-adds on registers alone, all threads at once.
/// </summary>
/// <remarks>
/// The width and the rounding follow the engine's: the widest vector the runtime accelerates, and fused
/// multiply-adds only where the processor has FMA (else a multiply and an add, as the engine then computes).
/// So each ISA path of <c>--isa-sweep</c> is held to its own peak.
/// </remarks>
internal static class PeakFlops
{
    // Twelve independent chains: more than FMA latency × FMA ports (4 cycles × 2 ports on current x86
    // cores), so the loop is bound by issue throughput and never waits for a result.
    private const int Chains = 12;
    private const long IterationsPerRound = 20_000_000;

    private static bool Fused => Fma.IsSupported || AdvSimd.IsSupported;

    /// <summary>The engine's instruction set as <c>CpuEngine</c> names it, and whether its multiply-adds are fused.</summary>
    public static string Isa =>
        (Vector512.IsHardwareAccelerated ? "AVX-512"
        : Vector256.IsHardwareAccelerated ? "AVX2"
        : Vector128.IsHardwareAccelerated ? (AdvSimd.IsSupported ? "NEON" : "SSE")
        : "scalar") + (Fused ? "" : ",no-FMA");

    private static int Lanes =>
        Vector512.IsHardwareAccelerated ? Vector512<float>.Count
        : Vector256.IsHardwareAccelerated ? Vector256<float>.Count
        : Vector128.IsHardwareAccelerated ? Vector128<float>.Count
        : 1;

    /// <summary>The best of <paramref name="rounds"/> rounds, in GFLOP/s (a multiply-add counts as two).</summary>
    public static double Measure(int threads, int rounds)
    {
        double best = 0;
        for (int round = 0; round < rounds; round++)
        {
            best = Math.Max(best, MeasureRound(threads));
        }

        return best;
    }

    private static double MeasureRound(int threads)
    {
        using var start = new Barrier(threads);
        var seconds = new double[threads];
        var sinks = new float[threads]; // stored results: the JIT cannot drop the loops that make them
        var workers = new Thread[threads - 1];
        for (int t = 1; t < threads; t++)
        {
            int thread = t;
            workers[t - 1] = new Thread(() => RunChains(thread, start, seconds, sinks));
            workers[t - 1].Start();
        }

        RunChains(0, start, seconds, sinks);
        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        double flops = 2.0 * Lanes * Chains * IterationsPerRound * threads;
        return flops / seconds.Max() / 1e9;
    }

    private static void RunChains(int thread, Barrier start, double[] seconds, float[] sinks)
    {
        start.SignalAndWait();
        long begin = Stopwatch.GetTimestamp();
        sinks[thread] = Lanes switch
        {
            16 => Chains512(IterationsPerRound),
            8 => Chains256(IterationsPerRound),
            4 => Chains128(IterationsPerRound),
            _ => ChainsScalar(IterationsPerRound),
        };
        seconds[thread] = Stopwatch.GetElapsedTime(begin).TotalSeconds;
    }

    // acc = acc · m + c with m just below 1: the values converge instead of overflowing, so no lane ever
    // turns denormal or infinite, which some cores would run slower.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(long iterations)
    {
        Vector512<float> m = Vector512.Create(0.999f), c = Vector512.Create(0.001f);
        Vector512<float> a0 = Vector512.Create(0.10f), a1 = Vector512.Create(0.11f), a2 = Vector512.Create(0.12f), a3 = Vector512.Create(0.13f);
        Vector512<float> a4 = Vector512.Create(0.14f), a5 = Vector512.Create(0.15f), a6 = Vector512.Create(0.16f), a7 = Vector512.Create(0.17f);
        Vector512<float> a8 = Vector512.Create(0.18f), a9 = Vector512.Create(0.19f), a10 = Vector512.Create(0.20f), a11 = Vector512.Create(0.21f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Step(a0, m, c); a1 = Step(a1, m, c); a2 = Step(a2, m, c); a3 = Step(a3, m, c);
            a4 = Step(a4, m, c); a5 = Step(a5, m, c); a6 = Step(a6, m, c); a7 = Step(a7, m, c);
            a8 = Step(a8, m, c); a9 = Step(a9, m, c); a10 = Step(a10, m, c); a11 = Step(a11, m, c);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Step(Vector512<float> a, Vector512<float> m, Vector512<float> c) => Fused ? Vector512.FusedMultiplyAdd(a, m, c) : a * m + c;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(long iterations)
    {
        Vector256<float> m = Vector256.Create(0.999f), c = Vector256.Create(0.001f);
        Vector256<float> a0 = Vector256.Create(0.10f), a1 = Vector256.Create(0.11f), a2 = Vector256.Create(0.12f), a3 = Vector256.Create(0.13f);
        Vector256<float> a4 = Vector256.Create(0.14f), a5 = Vector256.Create(0.15f), a6 = Vector256.Create(0.16f), a7 = Vector256.Create(0.17f);
        Vector256<float> a8 = Vector256.Create(0.18f), a9 = Vector256.Create(0.19f), a10 = Vector256.Create(0.20f), a11 = Vector256.Create(0.21f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Step(a0, m, c); a1 = Step(a1, m, c); a2 = Step(a2, m, c); a3 = Step(a3, m, c);
            a4 = Step(a4, m, c); a5 = Step(a5, m, c); a6 = Step(a6, m, c); a7 = Step(a7, m, c);
            a8 = Step(a8, m, c); a9 = Step(a9, m, c); a10 = Step(a10, m, c); a11 = Step(a11, m, c);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector256<float> Step(Vector256<float> a, Vector256<float> m, Vector256<float> c) => Fused ? Vector256.FusedMultiplyAdd(a, m, c) : a * m + c;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains128(long iterations)
    {
        Vector128<float> m = Vector128.Create(0.999f), c = Vector128.Create(0.001f);
        Vector128<float> a0 = Vector128.Create(0.10f), a1 = Vector128.Create(0.11f), a2 = Vector128.Create(0.12f), a3 = Vector128.Create(0.13f);
        Vector128<float> a4 = Vector128.Create(0.14f), a5 = Vector128.Create(0.15f), a6 = Vector128.Create(0.16f), a7 = Vector128.Create(0.17f);
        Vector128<float> a8 = Vector128.Create(0.18f), a9 = Vector128.Create(0.19f), a10 = Vector128.Create(0.20f), a11 = Vector128.Create(0.21f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Step(a0, m, c); a1 = Step(a1, m, c); a2 = Step(a2, m, c); a3 = Step(a3, m, c);
            a4 = Step(a4, m, c); a5 = Step(a5, m, c); a6 = Step(a6, m, c); a7 = Step(a7, m, c);
            a8 = Step(a8, m, c); a9 = Step(a9, m, c); a10 = Step(a10, m, c); a11 = Step(a11, m, c);
        }

        return Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector128<float> Step(Vector128<float> a, Vector128<float> m, Vector128<float> c) => Fused ? Vector128.FusedMultiplyAdd(a, m, c) : a * m + c;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float ChainsScalar(long iterations)
    {
        const float m = 0.999f, c = 0.001f;
        float a0 = 0.10f, a1 = 0.11f, a2 = 0.12f, a3 = 0.13f, a4 = 0.14f, a5 = 0.15f;
        float a6 = 0.16f, a7 = 0.17f, a8 = 0.18f, a9 = 0.19f, a10 = 0.20f, a11 = 0.21f;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Step(a0); a1 = Step(a1); a2 = Step(a2); a3 = Step(a3); a4 = Step(a4); a5 = Step(a5);
            a6 = Step(a6); a7 = Step(a7); a8 = Step(a8); a9 = Step(a9); a10 = Step(a10); a11 = Step(a11);
        }

        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static float Step(float a) => Fused ? MathF.FusedMultiplyAdd(a, m, c) : a * m + c;
    }
}
