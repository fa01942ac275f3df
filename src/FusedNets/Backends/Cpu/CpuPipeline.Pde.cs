using FusedNets.Backends;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

// Physics-informed training on this engine (PdeCpuEngine, src/FusedNets/Pde/Cpu): the pipeline lends it its threads,
// its layers' parameters and momentum (the same CpuWeights its own steps update, so both kinds of step train one
// network) and its non-finite check.
public sealed unsafe partial class CpuPipeline<TVector, TOps> : IPdeEngineSource
{
    private PdeCpuEngine<TVector, TOps>? _pde;

    IPdeEngine IPdeEngineSource.Pde(PdeProgram program) => _pde ??= new PdeCpuEngine<TVector, TOps>(this, program);

    /// <summary>The most threads a pass takes.</summary>
    internal int MaxThreads => _options.Threads;

    /// <summary>
    /// Runs <paramref name="job"/> on as many threads as a pass of <paramref name="flops"/> floating-point operations
    /// deserves, with <paramref name="step"/> as the optimizer step the update kernels read, the non-finite check cleared.
    /// </summary>
    internal void RunPde(Action<int> job, long flops, OptimizerStep step)
    {
        int threads = flops >= _options.ParallelFlops ? _options.Threads : 1;
        PassThreads = threads;
        Step = step;
        _nonFinite.AsSpan().Clear();
        if (threads > 1)
        {
            _pool ??= new WorkerPool(threads);
            _pool.Run(job);
        }
        else
        {
            job(0);
        }
    }

    /// <summary>The barrier between two phases of a pass run by <see cref="RunPde"/>.</summary>
    internal void SynchronizePde() => Synchronize();

    /// <summary>Whether every parameter and velocity the last pass's updates wrote is finite.</summary>
    internal bool UpdatesFinite()
    {
        float sum = 0;
        foreach (float slot in _nonFinite.AsSpan())
        {
            sum += slot;
        }

        return sum == 0;
    }

    /// <summary>Before a pass whose updates apply <paramref name="step"/>: the second-moment buffers its rule keeps.</summary>
    internal void PrepareUpdates(OptimizerStep step)
    {
        if (step.HasSecondMoment)
        {
            foreach (CpuLayer<TVector, TOps> layer in _layers)
            {
                layer.Weights?.EnsureSecondMoments();
            }
        }
    }

    /// <summary>Makes the parameters and state the last pass's updates of <paramref name="step"/> wrote the current ones.</summary>
    internal void FlipWeights(OptimizerStep step)
    {
        foreach (CpuLayer<TVector, TOps> layer in _layers)
        {
            layer.Weights?.Flip(step.HasSecondMoment);
        }
    }
}
