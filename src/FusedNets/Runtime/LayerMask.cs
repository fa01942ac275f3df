namespace FusedNets;

/// <summary>
/// Which weights of a layer are fixed to zero: declared before training (<c>Mask =</c>, <c>Density =</c>), or
/// made by pruning (<see cref="Layer.Prune"/>). A masked weight is zero and stays exactly zero: every backend
/// multiplies its gradient by the mask.
/// </summary>
public abstract class LayerMask
{
    private LayerMask()
    {
    }

    /// <summary>Every weight trains.</summary>
    public static LayerMask None { get; } = new NoMask();

    /// <summary>W[output, input] trains where <paramref name="keep"/>(output, input) is true.</summary>
    public static LayerMask FromFunction(string name, Func<int, int, bool> keep) => new FunctionMask(name, keep);

    /// <summary>Each weight is kept with probability <paramref name="density"/>, chosen by a hash of (seed, output, input).</summary>
    public static LayerMask Random(double density, int seed) => new RandomMask(density, seed);

    /// <summary>
    /// The mask of a pruned layer: <paramref name="keep"/> holds 1 (kept) or 0 per weight, in the weight tensor's
    /// layout, with <paramref name="columns"/> columns in its matrix view.
    /// </summary>
    internal static LayerMask Pruned(float[] keep, int columns) => new PrunedMask(keep, columns);

    /// <summary>False when every weight trains.</summary>
    public abstract bool IsMasked { get; }

    /// <summary>The expected fraction of weights kept.</summary>
    public abstract double Density { get; }

    /// <summary>A short description for model metadata and messages, such as <c>random(0.1, seed 7)</c>.</summary>
    public abstract string Description { get; }

    /// <summary>Whether W[output, input] trains.</summary>
    public abstract bool Keeps(int output, int input);

    /// <summary>
    /// <paramref name="layer"/>'s mask as the engines take it: null when every weight trains, else 1s (kept) and 0s
    /// (fixed to zero) in the weight tensor's layout, whose matrix view (<see cref="LayerArchitecture.WeightMatrix"/>)
    /// gives the (output, input) pairs <see cref="Keeps"/> is asked about.
    /// </summary>
    public static float[]? ArrayOf(LayerArchitecture layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        (int rows, int columns) = layer.WeightMatrix;
        return layer.Mask.IsMasked && rows > 0 ? layer.Mask.ToArray(rows, columns) : null;
    }

    /// <summary>The mask as 1s (kept) and 0s (fixed to zero), row-major [units, inputs].</summary>
    public float[] ToArray(int units, int inputs)
    {
        var values = new float[units * inputs];
        for (int output = 0; output < units; output++)
        {
            for (int input = 0; input < inputs; input++)
            {
                values[output * inputs + input] = Keeps(output, input) ? 1f : 0f;
            }
        }

        return values;
    }

    private sealed class NoMask : LayerMask
    {
        public override bool IsMasked => false;

        public override double Density => 1.0;

        public override string Description => "none";

        public override bool Keeps(int output, int input) => true;
    }

    private sealed class FunctionMask(string name, Func<int, int, bool> keep) : LayerMask
    {
        public override bool IsMasked => true;

        // Only known after evaluating it; initialization uses each row's actual fan-in instead.
        public override double Density => double.NaN;

        public override string Description => $"function({name})";

        public override bool Keeps(int output, int input) => keep(output, input);
    }

    private sealed class PrunedMask(float[] keep, int columns) : LayerMask
    {
        private readonly int _kept = keep.Count(value => value != 0);

        public override bool IsMasked => true;

        public override double Density => (double)_kept / keep.Length;

        public override string Description => FormattableString.Invariant($"pruned({_kept} of {keep.Length} kept)");

        public override bool Keeps(int output, int input) => keep[output * columns + input] != 0;
    }

    private sealed class RandomMask(double density, int seed) : LayerMask
    {
        public override bool IsMasked => density < 1.0;

        public override double Density => density;

        public override string Description => FormattableString.Invariant($"random({density}, seed {seed})");

        public override bool Keeps(int output, int input)
        {
            // SplitMix64's mixer chained over seed, output and input: the same mask on every machine and
            // runtime, independent of the order in which entries are asked for.
            ulong hash = Mix(Mix(Mix((ulong)(uint)seed) ^ (uint)output) ^ (uint)input);
            double uniform = (hash >> 11) * (1.0 / (1UL << 53));
            return uniform < density;
        }

        private static ulong Mix(ulong z)
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
