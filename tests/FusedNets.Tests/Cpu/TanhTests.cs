using System.Runtime.Intrinsics;
using FusedNets.Backends.Cpu;
using FusedNets.Generated;
using Xunit;

namespace FusedNets.Tests.Cpu;

/// <summary>
/// FusedNets' own tanh (<see cref="TanhKernel.Evaluate"/>) against double-precision tanh, its special values, and
/// its vector forms against its scalar rule.
/// </summary>
public class TanhTests
{
    // Every positive finite float was checked once (2.13 · 10⁹ of them, in a throwaway program): the largest error is
    // 2.42 units in the last place, at z = 0.03120264. The sweep keeps every 61st, about 35 million, and that float.
    private const double MaxUlps = 2.5;
    private const uint SweepStride = 61;
    private const float WorstMeasured = 0.03120264f;

    [Fact]
    public void Tanh_is_within_2_5_units_in_the_last_place_of_double_tanh_across_the_floats_and_exactly_odd()
    {
        double worst = Error(WorstMeasured);
        float worstAt = WorstMeasured;
        for (uint bits = 1; bits < 0x7F800000; bits += SweepStride)
        {
            float z = BitConverter.UInt32BitsToSingle(bits);
            double error = Error(z);
            if (error > worst)
            {
                worst = error;
                worstAt = z;
            }

            float y = TanhKernel.Apply(z);
            if (BitConverter.SingleToInt32Bits(TanhKernel.Apply(-z)) != BitConverter.SingleToInt32Bits(-y))
            {
                Assert.Fail($"tanh({-z:R}) = {TanhKernel.Apply(-z):R} is not −tanh({z:R}) = {-y:R}");
            }
        }

        Assert.True(worst <= MaxUlps, $"{worst:F3} units in the last place at z = {worstAt:R}");
    }

    [Theory]
    [InlineData(9.02f, 1f)]
    [InlineData(-9.5f, -1f)]
    [InlineData(10f, 1f)]
    [InlineData(88.8f, 1f)]
    [InlineData(float.MaxValue, 1f)]
    [InlineData(float.PositiveInfinity, 1f)]
    [InlineData(float.NegativeInfinity, -1f)]
    [InlineData(float.Epsilon, float.Epsilon)]
    [InlineData(-1e-40f, -1e-40f)]
    [InlineData(1e-20f, 1e-20f)]
    public void Tanh_saturates_to_exactly_one_and_is_the_identity_on_tiny_arguments(float z, float expected) =>
        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(TanhKernel.Apply(z)));

    [Fact]
    public void Tanh_keeps_the_sign_of_zero_and_propagates_NaN()
    {
        Assert.Equal(0, BitConverter.SingleToInt32Bits(TanhKernel.Apply(0f)));
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(TanhKernel.Apply(-0f)));
        Assert.True(float.IsNaN(TanhKernel.Apply(float.NaN)));
        Assert.True(float.IsNaN(TanhKernel.Apply(-float.NaN)));
    }

    [Fact]
    public unsafe void Every_vector_width_computes_the_scalar_rules_bits()
    {
        // A stride through every bit pattern, negative, subnormal, infinite and NaN included, 16 lanes at a time.
        const int lanes = 16;
        float* z = stackalloc float[lanes];
        for (ulong start = 0; start <= uint.MaxValue; start += 4099 * lanes)
        {
            for (int j = 0; j < lanes; j++)
            {
                z[j] = BitConverter.UInt32BitsToSingle((uint)(start + (ulong)j * 4099));
            }

            Vector512<float> wide = TanhKernel.Apply<Vector512<float>, Vector512Ops>(Vector512.Load(z));
            for (int j = 0; j < lanes; j++)
            {
                int expected = BitConverter.SingleToInt32Bits(TanhKernel.Apply(z[j]));
                AssertBits(expected, wide.GetElement(j), z[j], "AVX-512");
                AssertBits(expected, TanhKernel.Apply<Vector256<float>, Vector256Ops>(Vector256.Load(z + (j & ~7))).GetElement(j & 7), z[j], "AVX2");
                AssertBits(expected, TanhKernel.Apply<Vector128<float>, Vector128Ops>(Vector128.Load(z + (j & ~3))).GetElement(j & 3), z[j], "128-bit");
            }
        }
    }

    private static void AssertBits(int expected, float actual, float z, string width)
    {
        // NaN in, NaN out, whatever its payload: the widths may quiet or carry it differently.
        if (float.IsNaN(z) && float.IsNaN(actual))
        {
            return;
        }

        if (expected != BitConverter.SingleToInt32Bits(actual))
        {
            Assert.Fail($"{width}: tanh({z:R}) = {actual:R}, the scalar rule {BitConverter.Int32BitsToSingle(expected):R}");
        }
    }

    /// <summary>|tanh_float(z) − tanh(z)| in units of the last place of tanh(z) rounded to a float.</summary>
    private static double Error(float z)
    {
        double exact = Math.Tanh(z);
        return Math.Abs(TanhKernel.Apply(z) - exact) / UnitInTheLastPlace((float)exact);
    }

    private static double UnitInTheLastPlace(float value)
    {
        int exponent = (BitConverter.SingleToInt32Bits(value) >> 23) & 0xFF;
        return Math.ScaleB(1, Math.Max(exponent, 1) - 127 - 23);
    }
}
