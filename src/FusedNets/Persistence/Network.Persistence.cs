using FusedNets.Persistence;

namespace FusedNets;

// Saving and loading model files: the format is in ModelFile and docs/model-files.md.
public abstract partial class Network
{
    /// <summary>
    /// Saves the parameters, and with <paramref name="includeMomentum"/> the optimizer's state too (SGD's momentum, or
    /// Adam's moments and step count), as a safetensors file. The file is replaced atomically: a failure midway leaves the
    /// previous file intact. Load it with the generated <c>Load</c> of the network class.
    /// </summary>
    /// <param name="path">The file to write, conventionally ending in <c>.safetensors</c>.</param>
    /// <param name="includeMomentum">
    /// Save the optimizer's state, what training needs to resume exactly where it stopped. (The name is SGD's; Adam's
    /// state is saved the same way.)
    /// </param>
    public void Save(string path, bool includeMomentum = false) =>
        AtomicFile.Write(path, stream => Save(stream, includeMomentum));

    /// <summary>Writes the model file of <see cref="Save(string, bool)"/> to <paramref name="stream"/>.</summary>
    /// <param name="stream">Where to write; left open.</param>
    /// <param name="includeMomentum">Save the optimizer's state, what training needs to resume exactly where it stopped.</param>
    public void Save(Stream stream, bool includeMomentum = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            PrepareEngine();
            SyncHostParameters();
            ModelFile.Write(stream, Architecture, Seed, _parameters, includeMomentum ? ReadOptimizerState() : null, _standardization, PrunedMasks());
        }
    }

    /// <summary>
    /// Replaces this network's parameters (and optimizer state, when the file holds it) with a saved model's; the
    /// generated <c>Load</c> calls this on a new network. Masked weights load as zero, and masks that pruning made
    /// are restored, each combined with the layer's declared mask.
    /// </summary>
    /// <exception cref="InvalidDataException">The stream is not a model file of this architecture; the message names the first difference.</exception>
    protected void LoadState(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ModelState state = ModelFile.Read(stream, Architecture, (stream as FileStream)?.Name);

        lock (_gate)
        {
            for (int l = 0; l < state.PrunedMasks.Length; l++)
            {
                if (state.PrunedMasks[l] is { } pruned)
                {
                    float[] mask = (float[])pruned.Clone();
                    if (LayerMask.ArrayOf(Architecture.Layers[l]) is { } declared)
                    {
                        for (int i = 0; i < mask.Length; i++)
                        {
                            mask[i] *= declared[i];
                        }
                    }

                    SetMask(l, mask);
                }
            }

            SetParameters(state.Parameters);
            PrepareEngine();
            if (state.Optimizer is { } optimizer)
            {
                WriteOptimizerState(optimizer);
            }

            if (state.Standardization is { } standardization)
            {
                Standardization = standardization;
            }

            Seed = state.Seed ?? Seed;
        }
    }

    /// <summary>
    /// The optimizer's state, copied out of the engine. A file saves that of a network that has not trained (<see cref="OptimizerStateKind.None"/>)
    /// as zero SGD momentum, as it always has.
    /// </summary>
    private SavedOptimizerState ReadOptimizerState()
    {
        var moment = new float[Architecture.ParameterCount];
        _engine.ReadMomentum(moment);
        if (_optimizerState != OptimizerStateKind.AdamMoments)
        {
            return new SavedOptimizerState(_optimizerState, moment, null, _optimizerSteps);
        }

        var secondMoment = new float[Architecture.ParameterCount];
        _engine.ReadSecondMoment(secondMoment);
        return new SavedOptimizerState(OptimizerStateKind.AdamMoments, moment, secondMoment, _optimizerSteps);
    }

    private void WriteOptimizerState(SavedOptimizerState state)
    {
        ApplyMasks(state.Moment);
        _engine.WriteMomentum(state.Moment);
        if (state.SecondMoment is { } secondMoment)
        {
            ApplyMasks(secondMoment);
            _engine.WriteSecondMoment(secondMoment);
        }

        (_optimizerState, _optimizerSteps) = (state.Kind, state.Steps);
    }

    /// <summary>Per layer, its mask if pruning made it (model files save those; declared masks follow from the class), else null.</summary>
    private float[]?[] PrunedMasks() =>
        [.. Enumerable.Range(0, _masks.Length).Select(l => ReferenceEquals(_layerMasks[l], Architecture.Layers[l].Mask) ? null : _masks[l])];
}
