using FusedNets.Persistence;

namespace FusedNets;

// Saving and loading model files: the format is in ModelFile and docs/model-files.md.
public abstract partial class Network
{
    /// <summary>
    /// Saves the parameters, and with <paramref name="includeMomentum"/> the SGD momentum buffers too, as a
    /// safetensors file. The file is replaced atomically: a failure midway leaves the previous file intact.
    /// Load it with the generated <c>Load</c> of the network class.
    /// </summary>
    /// <param name="path">The file to write, conventionally ending in <c>.safetensors</c>.</param>
    /// <param name="includeMomentum">Save what training needs to resume exactly where it stopped.</param>
    public void Save(string path, bool includeMomentum = false) =>
        AtomicFile.Write(path, stream => Save(stream, includeMomentum));

    /// <summary>Writes the model file of <see cref="Save(string, bool)"/> to <paramref name="stream"/>.</summary>
    /// <param name="stream">Where to write; left open.</param>
    /// <param name="includeMomentum">Save what training needs to resume exactly where it stopped.</param>
    public void Save(Stream stream, bool includeMomentum = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            PrepareEngine();
            SyncHostParameters();
            float[]? momentum = null;
            if (includeMomentum)
            {
                momentum = new float[Architecture.ParameterCount];
                _engine.ReadMomentum(momentum);
            }

            ModelFile.Write(stream, Architecture, Seed, _parameters, momentum, PrunedMasks());
        }
    }

    /// <summary>
    /// Replaces this network's parameters (and momentum, when the file holds it) with a saved model's; the
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
            if (state.Momentum is { } momentum)
            {
                ApplyMasks(momentum);
                _engine.WriteMomentum(momentum);
            }

            Seed = state.Seed ?? Seed;
        }
    }

    /// <summary>Per layer, its mask if pruning made it (model files save those; declared masks follow from the class), else null.</summary>
    private float[]?[] PrunedMasks() =>
        [.. Enumerable.Range(0, _masks.Length).Select(l => ReferenceEquals(_layerMasks[l], Architecture.Layers[l].Mask) ? null : _masks[l])];
}
