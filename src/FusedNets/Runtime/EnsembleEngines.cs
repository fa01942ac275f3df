using System.Runtime.ExceptionServices;
using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Generated;

namespace FusedNets;

/// <summary>
/// Where an ensemble's members run: on a GPU, all of them as one fused network (<see cref="EnsembleArchitecture"/>) in
/// one engine; on the CPU, split into as many groups of consecutive members as there are cores (at most one group per
/// member), each group one fused network in a single-threaded engine, the groups' engines running side by side, one
/// per core.
/// </summary>
/// <remarks>
/// <para>
/// Why groups rather than one fused network over all cores: after the shared input, a member's values depend only on
/// its own blocks, so a core that holds whole members never waits for the other. One engine over all cores splits each
/// phase by rows instead, and a step of 784-32-32-10 × 8 then crosses nine barriers, where any core the operating system
/// takes away stalls the other; here a step crosses one. A member's chain of operations is the same in every
/// grouping (its blocks are run block by block, <see cref="BlockStructure"/>), so member i still ends exactly as its
/// network trained alone would.
/// </para>
/// <para>
/// A step either moves every group or none: a group whose step went non-finite drops it by itself, and the groups whose
/// step succeeded are then flipped back (<see cref="CpuEngine.RevertStep"/>).
/// </para>
/// </remarks>
internal sealed unsafe class EnsembleEngines : IDisposable
{
    private readonly MemberGroup[] _groups;
    private readonly WorkerPool? _pool;
    private readonly Action<int> _trainOnThread, _predictOnThread, _evaluateOnThread;
    private readonly float[] _groupLosses;
    private readonly ExceptionDispatchInfo?[] _failures;

    // The call in flight: written by the calling thread before the groups run, read by each group's thread.
    private float* _inputs;
    private int* _labels;
    private float* _targets;
    private int _batch;
    private OptimizerStep _step;

    public EnsembleEngines(NetworkArchitecture member, int members, Backend backend, Func<int, ReadOnlyMemory<float>> memberParameters)
    {
        INetworkEngine? whole = null;
        var all = new EnsembleArchitecture(member, members);
        if (backend != Backend.Cpu)
        {
            NetworkDefinition definition = Definition(all);
            whole = backend == Backend.Auto
                ? GpuBackend.Provider?.TryCreateOnGpu(definition, all.Masks)
                : Engines.Create(definition, backend, all.Masks);
        }

        int groups = whole is not null ? 1 : Math.Min(members, Environment.ProcessorCount);
        _groups = new MemberGroup[groups];
        try
        {
            for (int g = 0; g < groups; g++)
            {
                int first = members * g / groups, count = members * (g + 1) / groups - first;
                EnsembleArchitecture layout = groups == 1 ? all : new EnsembleArchitecture(member, count);

                // One group alone takes every core, as one network would; each of several takes one.
                INetworkEngine engine = whole ?? new CpuEngine(
                    layout.Fused, new ArchitectureCpuProgram(layout.Fused), layout.Masks, groups == 1 ? new CpuEngineOptions() : new CpuEngineOptions { Threads = 1 });
                _groups[g] = new MemberGroup(first, layout, engine);
                var parameters = new float[layout.Fused.ParameterCount];
                for (int m = 0; m < count; m++)
                {
                    layout.Pack(m, memberParameters(first + m).Span, parameters);
                }

                engine.WriteParameters(parameters);
            }
        }
        catch
        {
            if (_groups[0] is null)
            {
                whole?.Dispose();
            }

            Dispose();
            throw;
        }

        Members = members;
        OutputSize = member.OutputSize;
        _groupLosses = new float[groups];
        _failures = new ExceptionDispatchInfo?[groups];
        _pool = groups > 1 ? new WorkerPool(groups) : null;
        _trainOnThread = TrainOnThread;
        _predictOnThread = PredictOnThread;
        _evaluateOnThread = EvaluateOnThread;
    }

    public int Members { get; }

    /// <summary>One member's outputs per sample.</summary>
    public int OutputSize { get; }

    public Backend Backend => _groups[0].Engine.Backend;

    public string DeviceName => _groups.Length == 1
        ? _groups[0].Engine.DeviceName
        : $"{_groups[0].Engine.DeviceName}, the members in {_groups.Length} groups side by side";

    /// <summary>The one engine holding every member, when it trains whole epochs itself (a GPU engine's); else null.</summary>
    public IEpochTrainer? EpochTrainer => _groups.Length == 1 ? _groups[0].Engine as IEpochTrainer : null;

    /// <summary>
    /// One step of every member on a batch, with the targets of one member (n × OutputSize, for a regressor); returns the
    /// sum over the members of their mean loss, or NaN when the step went non-finite for some member and was dropped for all.
    /// </summary>
    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, OptimizerStep step)
    {
        _step = step;
        RunGroups(inputs, labels, targets, batch, _trainOnThread);
        float loss = 0;
        foreach (float groupLoss in _groupLosses)
        {
            loss += groupLoss;
        }

        if (float.IsNaN(loss) && _groups.Length > 1)
        {
            for (int g = 0; g < _groups.Length; g++)
            {
                if (!float.IsNaN(_groupLosses[g]))
                {
                    ((CpuEngine)_groups[g].Engine).RevertStep();
                }
            }
        }

        return loss;
    }

    /// <summary>Every member's outputs for a batch into <paramref name="outputs"/>: n × Members × OutputSize, member after member within each sample.</summary>
    public void Predict(ReadOnlySpan<float> inputs, Span<float> outputs, int batch)
    {
        if (_groups.Length == 1)
        {
            _groups[0].Engine.Predict(inputs, outputs, batch);
            return;
        }

        RunGroups(inputs, default, default, batch, _predictOnThread);
        foreach (MemberGroup group in _groups)
        {
            group.CopyOutputs(outputs, Members, batch);
        }
    }

    /// <summary>The sum over the members of their mean loss on a batch, under the parameters they hold.</summary>
    public float Loss(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch)
    {
        RunGroups(inputs, labels, targets, batch, _evaluateOnThread);
        return _groupLosses.Sum();
    }

    /// <summary>Member <paramref name="index"/>'s parameters, in its own flat layout.</summary>
    public void ReadMember(int index, Span<float> memberParameters)
    {
        MemberGroup group = _groups.Last(group => group.FirstMember <= index);
        var parameters = new float[group.Layout.Fused.ParameterCount];
        group.Engine.ReadParameters(parameters);
        group.Layout.Unpack(index - group.FirstMember, parameters, memberParameters);
    }

    /// <summary>Zeroes every member's optimizer moments (the second too when <paramref name="secondMoment"/>).</summary>
    public void ClearMoments(bool secondMoment)
    {
        foreach (MemberGroup group in _groups)
        {
            var zeros = new float[group.Layout.Fused.ParameterCount];
            group.Engine.WriteMomentum(zeros);
            if (secondMoment)
            {
                group.Engine.WriteSecondMoment(zeros);
            }
        }
    }

    public void Dispose()
    {
        _pool?.Dispose();
        foreach (MemberGroup? group in _groups)
        {
            group?.Engine.Dispose();
        }
    }

    /// <summary>Runs <paramref name="job"/> once per group, each on its own thread, with the call's arguments in the fields it reads.</summary>
    private void RunGroups(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, int batch, Action<int> job)
    {
        fixed (float* inputPointer = inputs)
        fixed (int* labelPointer = labels)
        fixed (float* targetPointer = targets)
        {
            _inputs = inputPointer;
            _labels = labelPointer;
            _targets = targetPointer;
            _batch = batch;
            try
            {
                if (_pool is null)
                {
                    job(0);
                }
                else
                {
                    _pool.Run(job);
                }
            }
            finally
            {
                // The pointers die with the fixed block.
                _inputs = _targets = null;
                _labels = null;
            }
        }

        for (int g = 0; g < _failures.Length; g++)
        {
            if (_failures[g] is { } failure)
            {
                _failures[g] = null;
                failure.Throw();
            }
        }
    }

    private void TrainOnThread(int group) => Capture(group, static (engines, group) =>
    {
        MemberGroup members = engines._groups[group];
        engines._groupLosses[group] = members.Engine.TrainBatch(
            engines.Inputs, engines.Labels, members.EveryMemberTargets(engines.Targets, engines._batch, engines.OutputSize), engines._batch, engines._step);
    });

    private void PredictOnThread(int group) => Capture(group, static (engines, group) =>
    {
        MemberGroup members = engines._groups[group];
        members.Engine.Predict(engines.Inputs, members.Outputs(engines._batch, engines.OutputSize), engines._batch);
    });

    private void EvaluateOnThread(int group) => Capture(group, static (engines, group) =>
    {
        MemberGroup members = engines._groups[group];
        int batch = engines._batch;
        Span<float> losses = members.Losses(batch);
        members.Engine.Evaluate(
            engines.Inputs, engines.Labels, members.EveryMemberTargets(engines.Targets, batch, engines.OutputSize), batch, members.Outputs(batch, engines.OutputSize), losses);
        double sum = 0;
        foreach (float loss in losses)
        {
            sum += loss;
        }

        engines._groupLosses[group] = (float)(sum / batch);
    });

    // A worker thread must not throw: the failure goes back to the caller, who rethrows it.
    private void Capture(int group, Action<EnsembleEngines, int> work)
    {
        try
        {
            work(this, group);
        }
        catch (Exception exception)
        {
            _failures[group] = ExceptionDispatchInfo.Capture(exception);
        }
    }

    private ReadOnlySpan<float> Inputs => new(_inputs, _batch * InputSize);

    private ReadOnlySpan<int> Labels => _labels == null ? default : new(_labels, _batch);

    private ReadOnlySpan<float> Targets => _targets == null ? default : new(_targets, _batch * OutputSize);

    private int InputSize => _groups[0].Layout.Member.InputSize;

    private static NetworkDefinition Definition(EnsembleArchitecture layout) => new(layout.Fused, new ArchitectureCpuProgram(layout.Fused));

    /// <summary>Members [FirstMember, FirstMember + Layout.Members) as one fused network in one engine, with its own buffers.</summary>
    private sealed class MemberGroup(int firstMember, EnsembleArchitecture layout, INetworkEngine engine)
    {
        private float[] _outputs = [], _targets = [], _losses = [];

        public int FirstMember { get; } = firstMember;

        public EnsembleArchitecture Layout { get; } = layout;

        public INetworkEngine Engine { get; } = engine;

        /// <summary>The group's outputs for a batch, n × its members × OutputSize.</summary>
        public Span<float> Outputs(int batch, int outputSize) => Buffer(ref _outputs, batch * Layout.Members * outputSize);

        public Span<float> Losses(int batch) => Buffer(ref _losses, batch);

        /// <summary>Writes this group's members' outputs into every member's, n × <paramref name="members"/> × OutputSize.</summary>
        public void CopyOutputs(Span<float> outputs, int members, int batch)
        {
            int outputSize = outputs.Length / (batch * members), length = Layout.Members * outputSize;
            for (int s = 0; s < batch; s++)
            {
                _outputs.AsSpan(s * length, length).CopyTo(outputs.Slice((s * members + FirstMember) * outputSize, length));
            }
        }

        /// <summary>A regressor's targets once per member of the group, as its fused network's loss reads them (n × members × OutputSize); empty for a classifier.</summary>
        public ReadOnlySpan<float> EveryMemberTargets(ReadOnlySpan<float> targets, int batch, int outputSize)
        {
            if (targets.IsEmpty)
            {
                return default;
            }

            Span<float> copies = Buffer(ref _targets, batch * Layout.Members * outputSize);
            for (int s = 0; s < batch; s++)
            {
                for (int m = 0; m < Layout.Members; m++)
                {
                    targets.Slice(s * outputSize, outputSize).CopyTo(copies.Slice((s * Layout.Members + m) * outputSize, outputSize));
                }
            }

            return copies;
        }

        private static Span<float> Buffer(ref float[] buffer, int length)
        {
            if (buffer.Length < length)
            {
                buffer = new float[length];
            }

            return buffer.AsSpan(0, length);
        }
    }
}
