namespace FusedNets.Reference;

// Interval bound propagation in double precision, without margins: the bounds of every layer over boxes of inputs,
// the bounds of logit differences certification uses, and the interval loss certified training minimizes, with
// its gradient (checked by finite differences in the tests). Shapes as in ReferenceNetwork: B samples, row-major.
internal sealed partial class ReferenceNetwork
{
    /// <summary>The bounds of the last layer's activations over the boxes [<paramref name="lower"/>, <paramref name="upper"/>] (B, InputSize): (B, OutputSize) each.</summary>
    public (double[] Lower, double[] Upper) IntervalBounds(ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, int batch)
    {
        CheckInputs(lower, batch);
        CheckInputs(upper, batch);
        IntervalValues last = RunIntervalForward(lower, upper, batch)[^1];
        return (last.YLower, last.YUpper);
    }

    /// <summary>
    /// Whether bounds on logit differences elide the last layer (Gowal et al. 2018): when it is dense with the identity,
    /// y_k − y_label is itself affine in the layer's input, and bounding it directly beats subtracting two bounds.
    /// </summary>
    public bool ElidesLastLayer => IntervalLoss.Elides(_architecture);

    /// <summary>
    /// For each sample and class k, an upper bound on y_k − y_label over the box (B, OutputSize); 0 at the label. The true
    /// class provably wins where every other entry is below 0.
    /// </summary>
    public double[] LogitDifferenceBounds(ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, ReadOnlySpan<int> labels, int batch)
    {
        CheckBatch(lower, labels, default, batch);
        CheckInputs(upper, batch);
        return LogitDifferences(RunIntervalForward(lower, upper, batch), labels, batch);
    }

    /// <summary>
    /// The interval loss, the batch's mean of the cross-entropy of the worst-case logit differences, log Σ_k exp(d_k) with
    /// d the <see cref="LogitDifferenceBounds"/>, and its gradients with respect to the parameters and both box ends.
    /// </summary>
    public ReferenceIntervalGradients IntervalLossGradients(ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, ReadOnlySpan<int> labels, int batch)
    {
        CheckBatch(lower, labels, default, batch);
        CheckInputs(upper, batch);
        IntervalValues[] saved = RunIntervalForward(lower, upper, batch);
        double[] differences = LogitDifferences(saved, labels, batch);
        int outputs = _architecture.OutputSize, layers = saved.Length;
        var dparameters = new double[_architecture.ParameterCount];

        // loss = log Σ_k exp(d_k), d_label = 0 fixed: dloss/dd_k = softmax(d)_k, for the batch's mean.
        double loss = 0;
        var dd = new double[differences.Length];
        for (int s = 0; s < batch; s++)
        {
            ReadOnlySpan<double> d = differences.AsSpan(s * outputs, outputs);
            double max = 0;
            foreach (double value in d)
            {
                max = Math.Max(max, value);
            }

            double sum = 0;
            foreach (double value in d)
            {
                sum += Math.Exp(value - max);
            }

            loss += (max + Math.Log(sum)) / batch;
            for (int k = 0; k < outputs; k++)
            {
                dd[s * outputs + k] = k == labels[s] ? 0 : Math.Exp(d[k] - max) / sum / batch;
            }
        }

        double[] dyLower, dyUpper;
        int below;
        if (ElidesLastLayer)
        {
            (dyLower, dyUpper) = ElidedBackward(saved[^1], labels, dd, dparameters.AsSpan(_architecture.ParameterOffset(layers - 1), _architecture.Layers[^1].ParameterCount), batch);
            below = layers - 2;
        }
        else
        {
            // d_k = upper_k − lower_label.
            dyLower = new double[dd.Length];
            dyUpper = new double[dd.Length];
            for (int s = 0; s < batch; s++)
            {
                for (int k = 0; k < outputs; k++)
                {
                    dyUpper[s * outputs + k] += dd[s * outputs + k];
                    dyLower[s * outputs + labels[s]] -= dd[s * outputs + k];
                }
            }

            below = layers - 1;
        }

        for (int l = below; l >= 0; l--)
        {
            (dyLower, dyUpper) = LayerIntervalBackward(l, saved[l], dyLower, dyUpper, batch, dparameters);
        }

        return new ReferenceIntervalGradients(loss, dparameters, dyLower, dyUpper);
    }

    /// <summary>
    /// Certified training's loss (Gowal et al. 2018): κ times the ordinary loss on the inputs plus (1 − κ) times the
    /// interval loss on their boxes (<paramref name="lower"/>, <paramref name="upper"/>), and its parameter gradient.
    /// </summary>
    public ReferenceGradients CertifiedGradients(ReadOnlySpan<double> inputs, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, ReadOnlySpan<int> labels, int batch, double kappa)
    {
        ReferenceGradients clean = Gradients(inputs, labels, default, batch);
        ReferenceIntervalGradients worst = IntervalLossGradients(lower, upper, labels, batch);
        var parameters = new double[clean.Parameters.Length];
        for (int p = 0; p < parameters.Length; p++)
        {
            parameters[p] = kappa * clean.Parameters[p] + (1 - kappa) * worst.Parameters[p];
        }

        return new ReferenceGradients(kappa * clean.Loss + (1 - kappa) * worst.Loss, parameters, clean.Inputs);
    }

    /// <summary>What the interval forward saves per layer: its input's bounds, z's and y's.</summary>
    private sealed record IntervalValues(double[] XLower, double[] XUpper, double[] ZLower, double[] ZUpper, double[] YLower, double[] YUpper);

    private IntervalValues[] RunIntervalForward(ReadOnlySpan<double> lower, ReadOnlySpan<double> upper, int batch)
    {
        var saved = new IntervalValues[_architecture.Layers.Length];
        double[] xLower = lower.ToArray(), xUpper = upper.ToArray();
        for (int l = 0; l < saved.Length; l++)
        {
            LayerArchitecture layer = _architecture.Layers[l];
            var zLower = new double[batch * layer.Units];
            var zUpper = new double[batch * layer.Units];
            layer.ReferenceIntervalForward(LayerParameters(l), xLower, xUpper, zLower, zUpper, batch);
            ActivationRule activation = Activations.Rule(layer.Activation);
            var yLower = new double[zLower.Length];
            var yUpper = new double[zLower.Length];
            for (int i = 0; i < zLower.Length; i++)
            {
                (yLower[i], yUpper[i]) = activation.ReferenceBounds(zLower[i], zUpper[i]);
            }

            saved[l] = new IntervalValues(xLower, xUpper, zLower, zUpper, yLower, yUpper);
            (xLower, xUpper) = (yLower, yUpper);
        }

        return saved;
    }

    // dyLower, dyUpper: (B, Units) in; returns dL/d(input bounds): (B, Inputs) each. Parameter gradients accumulate, masked.
    private (double[] DLower, double[] DUpper) LayerIntervalBackward(int l, IntervalValues saved, double[] dyLower, double[] dyUpper, int batch, double[] dparameters)
    {
        LayerArchitecture layer = _architecture.Layers[l];
        ActivationRule activation = Activations.Rule(layer.Activation);
        var dzLower = new double[dyLower.Length];
        var dzUpper = new double[dyLower.Length];
        for (int i = 0; i < dzLower.Length; i++)
        {
            (dzLower[i], dzUpper[i]) = activation.ReferenceBoundsBackward(saved.ZLower[i], saved.ZUpper[i], dyLower[i], dyUpper[i]);
        }

        var dxLower = new double[batch * layer.Inputs];
        var dxUpper = new double[batch * layer.Inputs];
        Span<double> dlayer = dparameters.AsSpan(_architecture.ParameterOffset(l), layer.ParameterCount);
        layer.ReferenceIntervalBackward(LayerParameters(l), saved.XLower, saved.XUpper, dzLower, dzUpper, dlayer, dxLower, dxUpper, batch);
        if (_masks[l] is { } mask)
        {
            for (int i = 0; i < mask.Length; i++)
            {
                dlayer[i] *= mask[i];
            }
        }

        return (dxLower, dxUpper);
    }

    // (B, Out): d[s, k] ≥ y_k − y_label over the box, d[s, label] = 0.
    private double[] LogitDifferences(IntervalValues[] saved, ReadOnlySpan<int> labels, int batch)
    {
        int outputs = _architecture.OutputSize;
        var differences = new double[batch * outputs];
        if (ElidesLastLayer)
        {
            // d_k = max over h in [lower, upper] of (W_k − W_label) h + b_k − b_label = (W_k − W_label) c + |W_k − W_label| r + b_k − b_label.
            IntervalValues last = saved[^1];
            int inputs = _architecture.Layers[^1].Inputs;
            ReadOnlySpan<double> w = LayerParameters(saved.Length - 1);
            ReadOnlySpan<double> b = w.Slice(outputs * inputs, outputs);
            for (int s = 0; s < batch; s++)
            {
                int label = labels[s];
                for (int k = 0; k < outputs; k++)
                {
                    double sum = k == label ? 0 : b[k] - b[label];
                    for (int i = 0; k != label && i < inputs; i++)
                    {
                        double difference = w[k * inputs + i] - w[label * inputs + i];
                        double c = (last.XLower[s * inputs + i] + last.XUpper[s * inputs + i]) / 2, r = (last.XUpper[s * inputs + i] - last.XLower[s * inputs + i]) / 2;
                        sum += difference * c + Math.Abs(difference) * r;
                    }

                    differences[s * outputs + k] = sum;
                }
            }

            return differences;
        }

        IntervalValues output = saved[^1];
        for (int s = 0; s < batch; s++)
        {
            for (int k = 0; k < outputs; k++)
            {
                differences[s * outputs + k] = k == labels[s] ? 0 : output.YUpper[s * outputs + k] - output.YLower[s * outputs + labels[s]];
            }
        }

        return differences;
    }

    // The backward of the elided differences to the last layer's parameters (dlast, its slice) and its input bounds.
    private (double[] DLower, double[] DUpper) ElidedBackward(IntervalValues last, ReadOnlySpan<int> labels, double[] dd, Span<double> dlast, int batch)
    {
        int outputs = _architecture.OutputSize, inputs = _architecture.Layers[^1].Inputs;
        ReadOnlySpan<double> w = LayerParameters(_architecture.Layers.Length - 1);
        var dLower = new double[batch * inputs];
        var dUpper = new double[batch * inputs];
        for (int s = 0; s < batch; s++)
        {
            int label = labels[s];
            for (int k = 0; k < outputs; k++)
            {
                double g = dd[s * outputs + k];
                if (k == label)
                {
                    continue;
                }

                // d_k = Σ_i (W_k − W_label)_i c_i + |W_k − W_label|_i r_i + b_k − b_label
                dlast[outputs * inputs + k] += g;
                dlast[outputs * inputs + label] -= g;
                for (int i = 0; i < inputs; i++)
                {
                    double difference = w[k * inputs + i] - w[label * inputs + i];
                    double c = (last.XLower[s * inputs + i] + last.XUpper[s * inputs + i]) / 2, r = (last.XUpper[s * inputs + i] - last.XLower[s * inputs + i]) / 2;
                    double dweight = g * (c + Math.Sign(difference) * r);
                    dlast[k * inputs + i] += dweight;
                    dlast[label * inputs + i] -= dweight;

                    // c = (lower + upper) / 2, r = (upper − lower) / 2
                    double dc = g * difference, dr = g * Math.Abs(difference);
                    dLower[s * inputs + i] += (dc - dr) / 2;
                    dUpper[s * inputs + i] += (dc + dr) / 2;
                }
            }
        }

        if (_masks[^1] is { } mask)
        {
            for (int i = 0; i < mask.Length; i++)
            {
                dlast[i] *= mask[i];
            }
        }

        return (dLower, dUpper);
    }
}

/// <summary>What <see cref="ReferenceNetwork.IntervalLossGradients"/> computes: the mean interval loss and its gradients.</summary>
/// <param name="Loss">The batch's mean interval loss.</param>
/// <param name="Parameters">dLoss/dparameters; zero for masked weights.</param>
/// <param name="Lower">dLoss/dlower: (B, InputSize).</param>
/// <param name="Upper">dLoss/dupper: (B, InputSize).</param>
internal sealed record ReferenceIntervalGradients(double Loss, double[] Parameters, double[] Lower, double[] Upper);
