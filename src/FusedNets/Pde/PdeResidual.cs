using FusedNets.Backends.Cpu;
using FusedNets.Generated;

namespace FusedNets;

/// <summary>
/// A term's method at one point, on the network's u and derivatives there, with the exact derivatives of its value r with
/// respect to each of them (<see cref="Variable{TReal}"/>): the loss r² and the seeds of the backward pass,
/// d(weight · mean r²)/d(channel) = 2 weight r ∂r/∂channel / n. Every engine evaluates terms through here.
/// </summary>
internal static class PdeResidual
{
    /// <summary>
    /// Term <paramref name="t"/> at its point <paramref name="s"/>: reads u's channels from <paramref name="y"/> and writes
    /// their seeds to <paramref name="seeds"/>, both indexed by column (<see cref="PdeColumns"/>); returns r². The seeds
    /// are scaled by <paramref name="scale"/>, 2 weight / n.
    /// </summary>
    public static float Evaluate(PdeBatch batch, int t, TermColumns term, int s, ReadOnlySpan<float> y, Span<float> seeds, float scale, Scratch scratch)
    {
        int first = term.FirstDerivatives, second = term.SecondDerivatives;
        Tape<float> tape = Tape<float>.Current;
        tape.Begin(1 + first + second);
        for (int i = 0; i < first; i++)
        {
            scratch.First[i] = Tape<float>.Leaf(1 + i, y[term.First(i) + s]);
        }

        for (int k = 0; k < second; k++)
        {
            scratch.Second[k] = Tape<float>.Leaf(1 + first + k, y[term.Second(k) + s]);
        }

        ReadOnlySpan<float> x = batch.Points(t).Slice(s * batch.Inputs, batch.Inputs);
        Variable<float> r = batch.Program.Evaluate(t, x, Tape<float>.Leaf(0, y[term.Value + s]), scratch.First.AsSpan(0, first), scratch.Second.AsSpan(0, second));
        Span<float> partials = scratch.Partials.AsSpan(0, 1 + first + second);
        tape.Gradient(r, partials);
        float seed = scale * r.Primal;
        seeds[term.Value + s] = seed * partials[0];
        for (int i = 0; i < first; i++)
        {
            seeds[term.First(i) + s] = seed * partials[1 + i];
        }

        for (int k = 0; k < second; k++)
        {
            seeds[term.Second(k) + s] = seed * partials[1 + first + k];
        }

        return r.Primal * r.Primal;
    }

    /// <summary>One thread's arguments and partial derivatives, reused from point to point.</summary>
    public sealed class Scratch(int inputs, PdeProgram program)
    {
        private static int MostSecond(PdeProgram program) => Math.Max(1, program.Terms.Max(term => term.SecondDerivativeCount));

        public Variable<float>[] First { get; } = new Variable<float>[inputs];

        public Variable<float>[] Second { get; } = new Variable<float>[MostSecond(program)];

        public float[] Partials { get; } = new float[1 + inputs + MostSecond(program)];
    }
}
