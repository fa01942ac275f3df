using System.Collections.Immutable;
using FusedNets.Generated;

namespace FusedNets;

/// <summary>
/// The points of every term of a physics-informed loss, as the engines read them: per term, its points sample-major
/// (count × inputs) and its weight. <see cref="PdeTraining"/> owns one and redraws its points in place.
/// </summary>
internal sealed class PdeBatch
{
    private readonly float[][] _points;
    private readonly int[] _counts;
    private readonly float[] _weights;

    public PdeBatch(PdeProgram program, int inputs)
    {
        Program = program;
        Inputs = inputs;
        _points = new float[program.Terms.Length][];
        _counts = new int[program.Terms.Length];
        _weights = new float[program.Terms.Length];
        Array.Fill(_points, []);
    }

    public PdeProgram Program { get; }

    public ImmutableArray<PdeTerm> Terms => Program.Terms;

    /// <summary>Inputs per point: the network's input size.</summary>
    public int Inputs { get; }

    /// <summary>Bumped whenever the number of points of a term changes, so engines know to lay their buffers out again.</summary>
    public int Shape { get; private set; }

    public int Count(int term) => _counts[term];

    public float Weight(int term) => _weights[term];

    /// <summary>Term <paramref name="term"/>'s points: <see cref="Count"/> × <see cref="Inputs"/> floats.</summary>
    public ReadOnlySpan<float> Points(int term) => _points[term].AsSpan(0, _counts[term] * Inputs);

    /// <summary>Room for <paramref name="count"/> points of <paramref name="term"/>, to be written in place.</summary>
    public Span<float> Resize(int term, int count, float weight)
    {
        if (count != _counts[term])
        {
            Shape++;
        }

        if (_points[term].Length < count * Inputs)
        {
            _points[term] = new float[count * Inputs];
        }

        _counts[term] = count;
        _weights[term] = weight;
        return _points[term].AsSpan(0, count * Inputs);
    }
}
