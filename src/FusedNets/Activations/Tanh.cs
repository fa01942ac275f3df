using System.ComponentModel;
using System.Runtime.CompilerServices;
using FusedNets.Backends.Cpu;
using FusedNets.Onnx;

namespace FusedNets.Generated;

/// <summary>y = tanh(z); dy/dz = 1 − y², d²y/dz² = −2y (1 − y²), d³y/dz³ = (1 − y²)(6y² − 2).</summary>
/// <remarks>
/// tanh is FusedNets' own arithmetic (<see cref="Evaluate"/>), not the C library's tanhf: one chain of multiplies,
/// adds, a division and selects, written once over <see cref="IVectorOps{TVector}"/>, so that the scalar rule, every
/// vector width and the GPU kernels (which call the scalar rule) compute the same formula, and the CPU widths the same
/// bits. Lane by lane, the scalar tanhf took about two thirds of a physics-informed training step (docs/pde.md).
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct TanhKernel : IActivationKernel
{
    // 2|z| = k ln 2 + r with k whole and |r| ≤ ln 2 / 2. ln 2 is split in two, Cody and Waite's reduction: the high
    // part has 16 significant bits, so k · Ln2High is exact for every k here (k ≤ 29) and 2|z| − k · Ln2High is
    // exact as well (the operands are within a factor of two of each other); only the tiny k · Ln2Low rounds.
    private const float Log2E = 1.44269504f;
    private const float Ln2High = 0.693145751953125f;
    private const float Ln2Low = 1.42860677e-6f;

    // Adding and subtracting 1.5 · 2²³ rounds a float of magnitude below 2²² to the nearest whole number.
    private const float RoundingShift = 12582912f;

    // tanh rounds to ±1 in float from |z| ≈ 9.011 on. Clamping |z| at 10 keeps the exponential finite (and its
    // k ≤ 29 within the range PowerOfTwo and the exact k · Ln2High need); e + 2 rounds to e there, so y is exactly 1.
    private const float Saturation = 10f;

    public static Activation Activation => Activation.Tanh;

    public static bool ReluFamily => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float z) => Evaluate<float, ScalarOps>(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Apply<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => Evaluate<TVector, TOps>(z);

    /// <summary>
    /// tanh |z| = e / (e + 2) with e = exp(2|z|) − 1, then z's sign: within a few units in the last place of tanh on
    /// every float (tests/FusedNets.Tests/Cpu/TanhTests.cs states the bound), exactly ±1 past |z| ≈ 9.011, ±0 and NaN
    /// returned as they came.
    /// </summary>
    /// <remarks>
    /// The form e / (e + 2) has no cancellation at small |z|, where 1 − 2 / (exp(2|z|) + 1) would lose every digit,
    /// and an error in e reaches y damped (by 2 / (e + 2) ≤ 1). e = 2ᵏ (exp(r) − 1) + (2ᵏ − 1) is exactly exp(r) − 1
    /// for k = 0, the small arguments. No step is a fused multiply-add, so that the result is the same bits whether
    /// or not the processor fuses them (as the derivative rules below).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVector Evaluate<TVector, TOps>(TVector z)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector one = TOps.Broadcast(1f), limit = TOps.Broadcast(Saturation);
        TVector magnitude = TOps.WherePositive(z, z, TOps.Subtract(default, z));
        TVector twice = TOps.Multiply(TOps.Broadcast(2f), TOps.WhereGreater(magnitude, limit, limit, magnitude));

        TVector shift = TOps.Broadcast(RoundingShift);
        TVector k = TOps.Subtract(TOps.Add(TOps.Multiply(twice, TOps.Broadcast(Log2E)), shift), shift);
        TVector r = TOps.Subtract(TOps.Subtract(twice, TOps.Multiply(k, TOps.Broadcast(Ln2High))), TOps.Multiply(k, TOps.Broadcast(Ln2Low)));

        // exp(r) − 1 = r + r² (1/2! + r (1/3! + … + r/8!)): the Taylor remainder is under 10⁻⁹ of it at |r| ≤ ln 2 / 2.
        TVector series = TOps.Broadcast(1f / 40320f);
        series = TOps.Add(TOps.Multiply(series, r), TOps.Broadcast(1f / 5040f));
        series = TOps.Add(TOps.Multiply(series, r), TOps.Broadcast(1f / 720f));
        series = TOps.Add(TOps.Multiply(series, r), TOps.Broadcast(1f / 120f));
        series = TOps.Add(TOps.Multiply(series, r), TOps.Broadcast(1f / 24f));
        series = TOps.Add(TOps.Multiply(series, r), TOps.Broadcast(1f / 6f));
        series = TOps.Add(TOps.Multiply(series, r), TOps.Broadcast(0.5f));
        TVector expm1 = TOps.Add(r, TOps.Multiply(TOps.Multiply(r, r), series));

        TVector scale = TOps.PowerOfTwo(k);
        TVector e = TOps.Add(TOps.Multiply(scale, expm1), TOps.Subtract(scale, one));
        TVector y = TOps.Divide(e, TOps.Add(e, TOps.Broadcast(2f)));
        return TOps.WherePositive(magnitude, TOps.WherePositive(z, y, TOps.Subtract(default, y)), z);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(float z, float y) => 1f - y * y;

    public static double Reference(double z) => Math.Tanh(z);

    public static double ReferenceDerivative(double z, double y) => 1 - y * y;

    // Each derivative of tanh is a polynomial in y: d/dz of a polynomial p(y) is p'(y) (1 − y²).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SecondDerivative(float z, float y) => -2f * y * (1f - y * y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ThirdDerivative(float z, float y) => (1f - y * y) * (6f * y * y - 2f);

    // The derivatives are polynomials in y, so their vector forms are the scalar rules' very operations, lane-wise (no
    // fused multiply-adds), bit for bit: derivative propagation evaluates them for every unit of every point.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector Derivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> => TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(y, y));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector SecondDerivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> =>
        TOps.Multiply(TOps.Multiply(TOps.Broadcast(-2f), y), TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(y, y)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector ThirdDerivative<TVector, TOps>(TVector z, TVector y)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector> =>
        TOps.Multiply(TOps.Subtract(TOps.Broadcast(1f), TOps.Multiply(y, y)), TOps.Subtract(TOps.Multiply(TOps.Multiply(TOps.Broadcast(6f), y), y), TOps.Broadcast(2f)));

    public static double ReferenceSecondDerivative(double z, double y) => -2 * y * (1 - y * y);

    public static double ReferenceThirdDerivative(double z, double y) => (1 - y * y) * (6 * y * y - 2);

    public static double ReferenceMinimumAt => double.NegativeInfinity;

    // Evaluate is within 2.42 ulps of tanh on every float (under 5 · 2⁻²⁴ relative; TanhTests). The rest is headroom
    // for the GPU kernels, whose compilers may fuse its multiplies and adds.
    public static float FloatErrorUlps => 8;

    internal static void AddOnnxNodes(OnnxGraph graph, string name, string z, string y) => graph.Elementwise("Tanh", name, [z], y);
}
