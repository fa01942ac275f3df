namespace FusedNets.Backends.Cpu;

/// <summary>
/// Where every term's channels lie among the columns of the CPU engine's feature-major buffers (rows: a layer's units):
/// first the value channel of every term's points, then each term's derivative channels, one block of its padded count
/// per channel:
/// <code>
///   [ u, term 0 | u, term 1 | … | ∂/∂x_0 … ∂/∂x_{d−1}, then second derivatives, term 0 | the same, term 1 | … ]
/// </code>
/// Every channel of every layer is then one matrix product over all columns at once, z = W y (the bias added to the
/// value columns only), and the bias gradient is a sum over the value columns alone.
/// </summary>
internal sealed class PdeColumns
{
    public PdeColumns(PdeBatch batch, int width)
    {
        Inputs = batch.Inputs;
        Terms = new TermColumns[batch.Terms.Length];
        int value = 0;
        for (int t = 0; t < Terms.Length; t++)
        {
            int padded = CpuLayout.RoundUp(batch.Count(t), width);
            Terms[t] = new TermColumns(batch.Terms[t], batch.Inputs, batch.Count(t), padded, value);
            value += padded;
        }

        ValueColumns = value;
        int derivatives = value;
        for (int t = 0; t < Terms.Length; t++)
        {
            Terms[t].Derivatives = derivatives;
            derivatives += (Terms[t].Channels - 1) * Terms[t].Padded;
        }

        Columns = derivatives;
        MaxPadded = Terms.Max(term => term.Padded);
    }

    public int Inputs { get; }

    public TermColumns[] Terms { get; }

    /// <summary>The value columns: every term's points, each term padded to whole vectors.</summary>
    public int ValueColumns { get; }

    /// <summary>Every column: the row stride of the feature-major buffers.</summary>
    public int Columns { get; }

    public int MaxPadded { get; }

    /// <summary>Whether any term reads derivatives, so that the derivative columns exist.</summary>
    public bool HasDerivatives => Columns > ValueColumns;
}

/// <summary>One term's columns (see <see cref="PdeColumns"/>).</summary>
internal sealed class TermColumns
{
    public TermColumns(PdeTerm term, int inputs, int count, int padded, int value)
    {
        Term = term;
        Count = count;
        Padded = padded;
        Value = value;
        FirstDerivatives = term.ReadsFirstDerivatives ? inputs : 0;
        SecondDerivatives = term.SecondDerivativeCount;
        Laplacian = term.Derivatives == PdeDerivatives.Laplacian;
        SecondInputs = [.. term.SecondDerivativeInputs];
        InLaplacian = new bool[inputs];
        if (Laplacian)
        {
            foreach (int input in SecondInputs)
            {
                InLaplacian[input] = true;
            }
        }
    }

    public PdeTerm Term { get; }

    /// <summary>Points of the term.</summary>
    public int Count { get; }

    /// <summary><see cref="Count"/> rounded up to whole vectors: the width of each of its channel blocks.</summary>
    public int Padded { get; }

    /// <summary>The column of its first point's value.</summary>
    public int Value { get; }

    /// <summary>The column its derivative channels start at.</summary>
    public int Derivatives { get; set; }

    /// <summary>First-derivative channels: every input, or none.</summary>
    public int FirstDerivatives { get; }

    /// <summary>Second-derivative channels: 1 for a Laplacian, one per chosen input, or none.</summary>
    public int SecondDerivatives { get; }

    public bool Laplacian { get; }

    /// <summary>The inputs of the second derivatives.</summary>
    public int[] SecondInputs { get; }

    /// <summary>Per input, whether the Laplacian sums over it.</summary>
    public bool[] InLaplacian { get; }

    public int Channels => 1 + FirstDerivatives + SecondDerivatives;

    /// <summary>The column of ∂u/∂x_<paramref name="input"/> of the term's first point.</summary>
    public int First(int input) => Derivatives + input * Padded;

    /// <summary>The column of the term's <paramref name="k"/>-th second derivative (the Laplacian: 0) of its first point.</summary>
    public int Second(int k) => Derivatives + (FirstDerivatives + k) * Padded;
}
