using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FusedNets.Bench;

/// <summary>
/// The machine's single-precision FMA peak, measured rather than looked up: every thread runs a loop of
/// independent vector fused multiply-adds on registers alone, all threads at once.
/// </summary>
internal static class PeakFlops
{
    // Twelve independent chains: more than FMA latency × FMA ports (4 cycles × 2 ports on current x86
    // cores), so the loop is bound by issue throughput and never waits for a result.
    private const int Chains = 12;
    private const long IterationsPerRound = 20_000_000;

    public static string Isa => Vector512.IsHardwareAccelerated ? "AVX-512" : "AVX2";

    /// <summary>The best of <paramref name="rounds"/> rounds, in GFLOP/s (an FMA counts as two).</summary>
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

        int lanes = Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256<float>.Count;
        double flops = 2.0 * lanes * Chains * IterationsPerRound * threads;
        return flops / seconds.Max() / 1e9;
    }

    private static void RunChains(int thread, Barrier start, double[] seconds, float[] sinks)
    {
        start.SignalAndWait();
        long begin = Stopwatch.GetTimestamp();
        sinks[thread] = Vector512.IsHardwareAccelerated ? Chains512(IterationsPerRound) : Chains256(IterationsPerRound);
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
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
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
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
