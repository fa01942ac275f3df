using System.ComponentModel;
using FusedNets.Generated;

namespace FusedNets.Generated
{
    /// <summary>
    /// One optimizer's update rule for one step, as the value every backend's update kernels take: the step's
    /// hyperparameters (for Adam with the bias corrections of its step count) and the rule that applies them.
    /// <see cref="SgdStep"/> and <see cref="AdamStep"/> implement it; kernels are generic over it, so each is compiled
    /// once per rule with the rule inlined, and a new optimizer is a new implementation, not a change to the kernels.
    /// </summary>
    /// <remarks>
    /// Each parameter carries up to two state values, its <c>moment</c> (SGD's velocity, PyTorch's
    /// <c>momentum_buffer</c>; Adam's <c>exp_avg</c>) and its <c>secondMoment</c> (Adam's <c>exp_avg_sq</c>; SGD leaves it
    /// alone). The scalar rules are the definition, and GPU kernels and the CPU's scalar paths apply them; the vector rule
    /// is their transcription for the CPU's tiles, the same operations in the same order without fused multiply-adds, so
    /// each lane gives the scalar rule's bits. Weight decay, where a rule has it, applies to weights and not to biases.
    /// Public only because ILGPU's launchers, emitted at run time, name the kernels' parameter types.
    /// </remarks>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public interface IUpdateRule
    {
        /// <summary>Whether the rule reads and writes <c>secondMoment</c>: backends keep that buffer only for rules that do.</summary>
        static abstract bool HasSecondMoment { get; }

        /// <summary>One weight's new value from its loss gradient; updates its state in place.</summary>
        float UpdateWeight(float weight, ref float moment, ref float secondMoment, float gradient);

        /// <summary>One bias's new value from its loss gradient (no weight decay); updates its state in place.</summary>
        float UpdateBias(float bias, ref float moment, ref float secondMoment, float gradient);

        /// <summary><see cref="UpdateWeight(float, ref float, ref float, float)"/> on every lane at once, bit for bit.</summary>
        TVector UpdateWeight<TVector, TOps>(TVector weight, ref TVector moment, ref TVector secondMoment, TVector gradient)
            where TVector : unmanaged
            where TOps : IVectorOps<TVector>;
    }
}

namespace FusedNets
{
    /// <summary>Called back by <see cref="OptimizerStep.Apply{TVisitor}"/> with the step's rule as its own type.</summary>
    internal interface IUpdateRuleVisitor
    {
        void Visit<TRule>(in TRule rule)
            where TRule : struct, IUpdateRule;
    }

    /// <summary>
    /// The value engines take for one training step: one optimizer's <see cref="IUpdateRule"/>, ready to apply. Engines
    /// turn it into their generic kernels' type argument through <see cref="Apply{TVisitor}"/>, the one place that lists
    /// the rules.
    /// </summary>
    internal readonly struct OptimizerStep
    {
        private readonly SgdStep _sgd;
        private readonly AdamStep _adam;

        // Where the next step's value comes from (see Next); null for a step made from a bare rule value.
        private readonly Optimizer? _optimizer;
        private readonly float _learningRate;

        /// <summary>A step of <paramref name="optimizer"/>, the <paramref name="count"/>-th (from 1) of its state, at <paramref name="learningRate"/>.</summary>
        public OptimizerStep(SgdStep sgd, Optimizer? optimizer = null, float learningRate = 0, long count = 1)
        {
            _sgd = sgd;
            StateKind = OptimizerStateKind.SgdMomentum;
            (_optimizer, _learningRate, Count) = (optimizer, learningRate, count);
        }

        /// <summary>A step of <paramref name="optimizer"/> at <paramref name="learningRate"/>; its count is the rule's <see cref="AdamStep.Step"/>.</summary>
        public OptimizerStep(AdamStep adam, Optimizer? optimizer = null, float learningRate = 0)
        {
            _adam = adam;
            StateKind = OptimizerStateKind.AdamMoments;
            (_optimizer, _learningRate, Count) = (optimizer, learningRate, adam.Step);
        }

        public static implicit operator OptimizerStep(SgdStep sgd) => new(sgd);

        public static implicit operator OptimizerStep(AdamStep adam) => new(adam);

        /// <summary>What the state buffers of a network that takes this step hold.</summary>
        public OptimizerStateKind StateKind { get; }

        /// <summary>Which step of its optimizer's state this is, from 1: Adam's t.</summary>
        public long Count { get; }

        /// <summary>Whether the rule keeps a second moment per parameter (<see cref="IUpdateRule.HasSecondMoment"/>).</summary>
        public bool HasSecondMoment => StateKind == OptimizerStateKind.AdamMoments;

        /// <summary>The SGD rule of an SGD step.</summary>
        public SgdStep Sgd => StateKind == OptimizerStateKind.SgdMomentum ? _sgd : throw new InvalidOperationException("Not an SGD step.");

        /// <summary>The Adam rule of an Adam step.</summary>
        public AdamStep Adam => StateKind == OptimizerStateKind.AdamMoments ? _adam : throw new InvalidOperationException("Not an Adam step.");

        /// <summary>
        /// The step after this one: the same optimizer and rate, the count one more (for Adam, new bias corrections). A
        /// step made from a bare rule value has no optimizer to ask and repeats itself.
        /// </summary>
        public OptimizerStep Next() => _optimizer is null ? this : _optimizer.ToStep(_learningRate, Count + 1);

        /// <summary>Calls <paramref name="visitor"/> with this step's rule as its own type.</summary>
        public void Apply<TVisitor>(ref TVisitor visitor)
            where TVisitor : struct, IUpdateRuleVisitor
        {
            if (StateKind == OptimizerStateKind.AdamMoments)
            {
                visitor.Visit(in _adam);
            }
            else
            {
                visitor.Visit(in _sgd);
            }
        }
    }

    /// <summary>What a network's optimizer state buffers hold: each optimizer starts its own state afresh.</summary>
    internal enum OptimizerStateKind
    {
        /// <summary>Nothing yet: the network has not trained (or was loaded without its state).</summary>
        None,

        /// <summary>SGD's velocity per parameter (<see cref="Sgd"/>).</summary>
        SgdMomentum,

        /// <summary>Adam's first and second moments per parameter and its step count (<see cref="Adam"/>, <see cref="AdamW"/>).</summary>
        AdamMoments,
    }
}
