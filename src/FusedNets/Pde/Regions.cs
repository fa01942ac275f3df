using System.Collections.Immutable;
using System.Globalization;

namespace FusedNets;

/// <summary>
/// A set of points that collocation points are drawn from: a <see cref="Box"/>, or faces of one. A region is the image
/// of a unit cube, so that uniform and Sobol' points of the cube (<see cref="Sampling"/>) map to points of the region.
/// </summary>
public abstract class Region
{
    private protected Region(int dimensions, int parameters)
    {
        Dimensions = dimensions;
        Parameters = parameters;
    }

    /// <summary>Coordinates per point: the network's inputs.</summary>
    public int Dimensions { get; }

    /// <summary>The dimension of the unit cube the region is drawn from.</summary>
    internal int Parameters { get; }

    /// <summary>The point of the region that <paramref name="unit"/>, a point of [0, 1)^<see cref="Parameters"/>, stands for.</summary>
    internal abstract void Map(ReadOnlySpan<double> unit, Span<float> point);
}

/// <summary>Which end of an input's interval a face of a <see cref="Box"/> lies at.</summary>
public enum BoxSide
{
    /// <summary>x_i = lower_i: at t = 0 for a time input.</summary>
    Lower,

    /// <summary>x_i = upper_i.</summary>
    Upper,
}

/// <summary>
/// The box [lower_0, upper_0] × … × [lower_{d−1}, upper_{d−1}]: the domain of most physics-informed problems, space or
/// space-time, drawn from uniformly; and its faces, for boundary and initial conditions.
/// </summary>
public sealed class Box : Region
{
    private readonly ImmutableArray<float> _lower;
    private readonly ImmutableArray<float> _upper;

    /// <summary>The box between <paramref name="lower"/> and <paramref name="upper"/>, one bound per input.</summary>
    public Box(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper)
        : base(lower.Length, lower.Length)
    {
        if (lower.Length == 0 || lower.Length != upper.Length)
        {
            throw new ArgumentException($"A box needs as many upper bounds as lower bounds, at least one: got {lower.Length} and {upper.Length}.", nameof(upper));
        }

        for (int i = 0; i < lower.Length; i++)
        {
            if (!float.IsFinite(lower[i]) || !float.IsFinite(upper[i]) || !(lower[i] < upper[i]))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Input {i} spans [{lower[i]}, {upper[i]}]: a box needs finite bounds with lower < upper."), nameof(lower));
            }
        }

        _lower = [.. lower];
        _upper = [.. upper];
    }

    /// <summary>[0, 1]^<paramref name="dimensions"/>.</summary>
    public static Box Unit(int dimensions)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimensions);
        float[] zeros = new float[dimensions], ones = new float[dimensions];
        Array.Fill(ones, 1f);
        return new Box(zeros, ones);
    }

    public ImmutableArray<float> Lower => _lower;

    public ImmutableArray<float> Upper => _upper;

    /// <summary>Every face: the whole boundary, each face drawn in proportion to its area.</summary>
    public Region Boundary => Faces([.. Enumerable.Range(0, Dimensions)]);

    /// <summary>The face where input <paramref name="input"/> is at its <paramref name="side"/> bound (t = 0 for an initial condition).</summary>
    public Region Face(int input, BoxSide side)
    {
        CheckInput(input);
        return new BoxFaces(this, [(input, side)]);
    }

    /// <summary>Both faces of each of <paramref name="inputs"/> (the walls x = lower and x = upper), drawn in proportion to their areas.</summary>
    public Region Faces(params int[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 0 || inputs.Distinct().Count() != inputs.Length)
        {
            throw new ArgumentException("Name each input at least once and at most once.", nameof(inputs));
        }

        foreach (int input in inputs)
        {
            CheckInput(input);
        }

        return new BoxFaces(this, [.. inputs.SelectMany(input => new[] { (input, BoxSide.Lower), (input, BoxSide.Upper) })]);
    }

    public override string ToString() =>
        string.Join(" × ", Enumerable.Range(0, Dimensions).Select(i => string.Create(CultureInfo.InvariantCulture, $"[{_lower[i]}, {_upper[i]}]")));

    internal override void Map(ReadOnlySpan<double> unit, Span<float> point)
    {
        for (int i = 0; i < Dimensions; i++)
        {
            point[i] = Coordinate(i, unit[i]);
        }
    }

    /// <summary>Input <paramref name="input"/> at fraction <paramref name="fraction"/> of its interval, in double until the end.</summary>
    internal float Coordinate(int input, double fraction) => (float)(_lower[input] + fraction * ((double)_upper[input] - _lower[input]));

    internal double Length(int input) => (double)_upper[input] - _lower[input];

    private void CheckInput(int input)
    {
        if ((uint)input >= (uint)Dimensions)
        {
            throw new ArgumentOutOfRangeException(nameof(input), input, $"The box has inputs 0 to {Dimensions - 1}.");
        }
    }
}

/// <summary>
/// Faces of a box. The first coordinate of the unit cube picks a face, each with a share of [0, 1) equal to its share of
/// the total area; the others place the point on it, in the order of the inputs the face leaves free.
/// </summary>
internal sealed class BoxFaces : Region
{
    private readonly Box _box;
    private readonly (int Input, BoxSide Side)[] _faces;
    private readonly double[] _cumulativeShares;

    public BoxFaces(Box box, (int Input, BoxSide Side)[] faces)
        : base(box.Dimensions, box.Dimensions)
    {
        _box = box;
        _faces = faces;
        double[] areas = [.. faces.Select(face => Enumerable.Range(0, box.Dimensions).Where(i => i != face.Input).Aggregate(1.0, (area, i) => area * box.Length(i)))];
        double total = areas.Sum();
        _cumulativeShares = new double[faces.Length];
        double running = 0;
        for (int f = 0; f < faces.Length; f++)
        {
            running += areas[f];
            _cumulativeShares[f] = running / total;
        }
    }

    internal override void Map(ReadOnlySpan<double> unit, Span<float> point)
    {
        int face = 0;
        while (face < _faces.Length - 1 && unit[0] >= _cumulativeShares[face])
        {
            face++;
        }

        (int fixedInput, BoxSide side) = _faces[face];
        for (int i = 0, free = 1; i < Dimensions; i++)
        {
            point[i] = i == fixedInput
                ? (side == BoxSide.Lower ? _box.Lower[i] : _box.Upper[i])
                : _box.Coordinate(i, unit[free++]);
        }
    }

    public override string ToString() =>
        string.Join(" ∪ ", _faces.Select(face => string.Create(CultureInfo.InvariantCulture, $"x{face.Input} = {(face.Side == BoxSide.Lower ? _box.Lower[face.Input] : _box.Upper[face.Input])}")));
}
