namespace FusedNets;

// Standardized inputs: the statistics of a network declared with [Input(..., Standardize = true)].
public abstract partial class Network
{
    private Standardization? _standardization;

    /// <summary>
    /// The statistics a network declared with <c>[Input(..., Standardize = true)]</c> standardizes its input with, one mean
    /// and standard deviation per channel (per feature of a vector input); null until set, estimated by <see cref="Fit"/>,
    /// or loaded. Until then the network takes its input as it is. Set them to standardize with statistics of your own (or
    /// <see cref="FusedNets.Standardization.Estimate"/>'s, from another data set), and before training with the generated
    /// <c>TrainBatch</c>, which refuses to train on unknown statistics; set null for the next <see cref="Fit"/> to estimate
    /// them again. Always null for a network that does not standardize.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on a network that does not standardize its input.</exception>
    /// <exception cref="ArgumentException">Set with statistics for another number of channels.</exception>
    public Standardization? Standardization
    {
        get
        {
            lock (_gate)
            {
                return _standardization;
            }
        }

        set
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!Architecture.StandardizesInput)
                {
                    throw new InvalidOperationException(
                        $"{Architecture.Name} does not standardize its input: declare its input with [Input(..., Standardize = true)] to give it statistics.");
                }

                int channels = Architecture.InputShape.Channels;
                if (value is not null && value.Mean.Count != channels)
                {
                    throw new ArgumentException(
                        $"{Architecture.Name} standardizes {channels} {(Shapes.IsVector(Architecture.InputShape) ? "features" : "channels")}; the statistics are for {value.Mean.Count}.", nameof(value));
                }

                _standardization = value;
                SetEngineStandardization();
            }
        }
    }

    /// <summary>Hands the engine the statistics per feature: the identity while unset.</summary>
    private void SetEngineStandardization()
    {
        (float[] mean, float[] deviation) = StandardizationPerFeature();
        _engine.SetStandardization(mean, deviation);
    }

    /// <summary>The statistics per feature (a channel's repeated over its pixels): mean 0 and deviation 1 while unset.</summary>
    private (float[] Mean, float[] Deviation) StandardizationPerFeature()
    {
        int features = Architecture.InputSize, channels = Architecture.InputShape.Channels, run = features / channels;
        var mean = new float[features];
        var deviation = new float[features];
        for (int f = 0; f < features; f++)
        {
            mean[f] = _standardization?.Mean[f / run] ?? 0;
            deviation[f] = _standardization?.StandardDeviation[f / run] ?? 1;
        }

        return (mean, deviation);
    }

    /// <summary>Before Fit's first step: the training data's statistics, for a network that standardizes and has none yet.</summary>
    private void EstimateStandardizationIfUnset(Data.Dataset data)
    {
        if (Architecture.StandardizesInput && Standardization is null)
        {
            Standardization = Standardization.Estimate(data, Architecture);
        }
    }

    /// <summary>Refuses to train a network that standardizes on statistics it does not have.</summary>
    private void CheckStandardizationIsSet()
    {
        if (Architecture.StandardizesInput && _standardization is null)
        {
            throw new InvalidOperationException(
                $"{Architecture.Name} standardizes its input, but has no statistics yet: Fit estimates them from its training data; " +
                $"before TrainBatch, set {nameof(Standardization)} (for instance to Standardization.Estimate(data, network.Architecture)).");
        }
    }
}
