using FusedNets.Backends;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

// Standardized inputs (NetworkArchitecture.StandardizesInput): x' = (x − mean) / deviation per feature, folded into the
// input phase, where the batch is transposed to feature-major anyway, and into the single-sample path; the input gradient
// goes back to raw features, dL/dx = dL/dx' / deviation, as the caller's rows are written. Each is one subtraction and one
// division per value, correctly rounded at every width, so every path gives the same bits.
public sealed unsafe partial class CpuPipeline<TVector, TOps>
{
    /// <summary>Per feature, padded to whole vectors with mean 0 and deviation 1: the identity until the statistics are set.</summary>
    private static (AlignedBuffer Mean, AlignedBuffer Deviation) IdentityStandardization(int features)
    {
        var mean = new AlignedBuffer(CpuLayout.RoundUp(features, TOps.Count));
        var deviation = new AlignedBuffer(mean.Length);
        deviation.AsSpan().Fill(1);
        return (mean, deviation);
    }

    /// <summary>Whether the network standardizes its input.</summary>
    internal bool StandardizesInput => _inputMean is not null;

    /// <summary>Each feature's mean, for a network that standardizes its input.</summary>
    private ReadOnlySpan<float> StandardizationMean => _inputMean!.AsSpan()[.._architecture.InputSize];

    /// <summary>Each feature's standard deviation, for a network that standardizes its input.</summary>
    private ReadOnlySpan<float> StandardizationDeviation => _inputDeviation!.AsSpan()[.._architecture.InputSize];

    void INetworkEngine.SetStandardization(ReadOnlySpan<float> mean, ReadOnlySpan<float> standardDeviation)
    {
        mean.CopyTo(_inputMean!.AsSpan());
        standardDeviation.CopyTo(_inputDeviation!.AsSpan());
    }

    /// <summary>Standardizes rows [<paramref name="first"/>, <paramref name="end"/>) of the feature-major batch, each P floats: whole vectors, padding included.</summary>
    private void StandardizeColumns(float* columns, int first, int end)
    {
        for (int feature = first; feature < end; feature++)
        {
            TVector mean = TOps.Broadcast(_inputMean!.Pointer[feature]), deviation = TOps.Broadcast(_inputDeviation!.Pointer[feature]);
            float* row = columns + (nint)feature * Stride;
            for (int i = 0; i < Stride; i += TOps.Count)
            {
                TOps.Store(row + i, TOps.Divide(TOps.Subtract(TOps.Load(row + i), mean), deviation));
            }
        }
    }

    /// <summary>One sample's features standardized into the pipeline's own buffer, which the first layer then reads.</summary>
    private float* StandardizeSample(float* input)
    {
        float* standardized = _standardizedSample!.Pointer, mean = _inputMean!.Pointer, deviation = _inputDeviation!.Pointer;
        int features = _architecture.InputSize, i = 0;
        for (; i + TOps.Count <= features; i += TOps.Count)
        {
            TOps.Store(standardized + i, TOps.Divide(TOps.Subtract(TOps.Load(input + i), TOps.Load(mean + i)), TOps.Load(deviation + i)));
        }

        for (; i < features; i++)
        {
            standardized[i] = (input[i] - mean[i]) / deviation[i];
        }

        return standardized;
    }

    /// <summary>The sample-major input gradient of samples [first, end), turned from standardized to raw features in place.</summary>
    private void UnstandardizeGradient(float* rows, int first, int end)
    {
        float* deviation = _inputDeviation!.Pointer;
        int features = _architecture.InputSize;
        for (int sample = first; sample < end; sample++)
        {
            float* row = rows + (nint)sample * features;
            int i = 0;
            for (; i + TOps.Count <= features; i += TOps.Count)
            {
                TOps.Store(row + i, TOps.Divide(TOps.Load(row + i), TOps.Load(deviation + i)));
            }

            for (; i < features; i++)
            {
                row[i] /= deviation[i];
            }
        }
    }
}
