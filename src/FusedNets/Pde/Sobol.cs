using System.Numerics;

namespace FusedNets;

/// <summary>
/// The Sobol' low-discrepancy sequence in [0, 1)^d, up to <see cref="MaxDimensions"/> dimensions: the first point is
/// the origin, and the first 2^m points of any dimension fall one into each interval [k/2^m, (k+1)/2^m). Each coordinate
/// is a 32-bit binary fraction; points come in Gray-code order (Antonov and Saleev 1979), each one XOR away from the
/// one before.
/// </summary>
/// <remarks>
/// Direction numbers: S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better two-dimensional projections",
/// SIAM J. Sci. Comput. 30 (2008) 2635–2654, their set <c>new-joe-kuo-6.21201</c> (first 1024 dimensions; see
/// <c>src/FusedNets/Pde/ATTRIBUTION.md</c>). Dimension 1 is van der Corput's sequence; dimension j &gt; 1 has a
/// primitive polynomial of degree s with coefficients a and initial numbers m_1..m_s, and its direction numbers
/// v_k = m_k / 2^k for k ≤ s, then v_k = v_{k−s} ⊕ (v_{k−s} / 2^s) ⊕ a_1 v_{k−1} ⊕ … ⊕ a_{s−1} v_{k−s+1}
/// (Bratley and Fox, ACM TOMS 14 (1988), Algorithm 659).
/// </remarks>
public sealed class SobolSequence
{
    /// <summary>The most dimensions the embedded direction numbers cover.</summary>
    public const int MaxDimensions = 1024;

    private const int Bits = 32;
    private static readonly Lazy<(int Degree, uint Coefficients, uint[] Initial)[]> s_table = new(ReadTable);

    // [dimension * Bits + k]: the direction number v_{k+1} as a 32-bit fraction.
    private readonly uint[] _directions;
    private readonly uint[] _state;
    private long _index;

    /// <summary>The sequence in <paramref name="dimensions"/> dimensions, from its first point.</summary>
    public SobolSequence(int dimensions)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimensions);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimensions, MaxDimensions);
        Dimensions = dimensions;
        _directions = new uint[dimensions * Bits];
        _state = new uint[dimensions];
        for (int k = 0; k < Bits; k++)
        {
            _directions[k] = 1u << (Bits - 1 - k);
        }

        (int Degree, uint Coefficients, uint[] Initial)[] table = s_table.Value;
        for (int j = 1; j < dimensions; j++)
        {
            (int s, uint a, uint[] m) = table[j - 1];
            Span<uint> v = _directions.AsSpan(j * Bits, Bits);
            for (int k = 0; k < Bits; k++)
            {
                if (k < s)
                {
                    v[k] = m[k] << (Bits - 1 - k);
                    continue;
                }

                uint next = v[k - s] ^ (v[k - s] >> s);
                for (int i = 1; i < s; i++)
                {
                    if (((a >> (s - 1 - i)) & 1) != 0)
                    {
                        next ^= v[k - i];
                    }
                }

                v[k] = next;
            }
        }
    }

    public int Dimensions { get; }

    /// <summary>How many points have been drawn.</summary>
    public long Index => _index;

    /// <summary>Writes the next point into <paramref name="point"/> (<see cref="Dimensions"/> values in [0, 1)).</summary>
    /// <exception cref="InvalidOperationException">All 2^32 points have been drawn.</exception>
    public void Next(Span<double> point)
    {
        if (_index == uint.MaxValue)
        {
            throw new InvalidOperationException("The Sobol' sequence has given all 2^32 − 1 of its points.");
        }

        const double Scale = 1.0 / (1L << Bits);
        for (int j = 0; j < Dimensions; j++)
        {
            point[j] = _state[j] * Scale;
        }

        // Point n + 1 differs from point n by the direction number of the lowest zero bit of n.
        int bit = BitOperations.TrailingZeroCount(~(uint)_index);
        for (int j = 0; j < Dimensions; j++)
        {
            _state[j] ^= _directions[j * Bits + bit];
        }

        _index++;
    }

    /// <summary>Joe and Kuo's table: one line per dimension from 2, "d s a m_1 … m_s".</summary>
    private static (int Degree, uint Coefficients, uint[] Initial)[] ReadTable()
    {
        using Stream stream = typeof(SobolSequence).Assembly.GetManifestResourceStream("FusedNets.Pde.JoeKuoDirections.txt")
            ?? throw new InvalidOperationException("The Sobol' direction numbers are missing from the FusedNets assembly.");
        using var reader = new StreamReader(stream);
        reader.ReadLine(); // the header
        var table = new List<(int, uint, uint[])>(MaxDimensions - 1);
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            uint[] fields = [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(field => uint.Parse(field, System.Globalization.CultureInfo.InvariantCulture))];
            int degree = (int)fields[1];
            table.Add((degree, fields[2], fields[3..(3 + degree)]));
        }

        return [.. table];
    }
}
