using FusedNets.Backends;
using FusedNets.Generated;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

// Physics-informed training on this engine's accelerator and parameters (IlgpuPdeEngine), with its divergence
// snapshot: a step that goes non-finite is undone from the copy taken before it.
internal sealed partial class IlgpuEngine : IPdeEngineSource
{
    private IlgpuPdeEngine? _pde;

    IPdeEngine IPdeEngineSource.Pde(PdeProgram program) =>
        _pde ??= new IlgpuPdeEngine(this, _accelerator, _workspace, _architecture, [.. _architecture.Layers.Select(LayerMask.ArrayOf)], program);

    /// <summary>
    /// Makes the state <paramref name="step"/>'s rule keeps (Adam's second moments), then copies the parameters and
    /// that state to the snapshot, unless a step has already failed.
    /// </summary>
    internal void SnapshotParameters(OptimizerStep step)
    {
        PrepareState(step);
        int parameters = _architecture.ParameterCount;
        _copyWhileHealthy(_workspace.Stream, parameters, _workspace.Status, _workspace.Parameters, _workspace.ParametersSnapshot);
        _copyWhileHealthy(_workspace.Stream, parameters, _workspace.Status, _workspace.Momentum, _workspace.MomentumSnapshot);
        if (step.HasSecondMoment)
        {
            _copyWhileHealthy(_workspace.Stream, parameters, _workspace.Status, _workspace.SecondMoment, _workspace.SecondMomentSnapshot);
        }
    }

    /// <summary>Whether the step since <see cref="SnapshotParameters"/> flagged a value that is not finite; if so it is undone.</summary>
    internal bool RestoreIfStepFailed(OptimizerStep step) => RestoreIfFailed(step) >= 0;

    /// <summary>Undoes the step since <see cref="SnapshotParameters"/>, whatever its status.</summary>
    internal void RestoreSnapshot(OptimizerStep step)
    {
        _workspace.ParametersSnapshot.CopyTo(_workspace.Parameters);
        _workspace.MomentumSnapshot.CopyTo(_workspace.Momentum);
        if (step.HasSecondMoment)
        {
            _workspace.SecondMomentSnapshot.CopyTo(_workspace.SecondMoment);
        }

        _accelerator.Synchronize();
    }
}
