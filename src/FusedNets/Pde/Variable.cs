using System.ComponentModel;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace FusedNets.Generated;

/// <summary>
/// The number FusedNets evaluates residuals and conditions in (see <see cref="IPdeNumber{TSelf}"/>): a value and its
/// place on the evaluating thread's <see cref="Tape{TReal}"/>, which records each operation with its local partial
/// derivatives. One backward sweep over the tape then gives the exact derivative of the result with respect to every
/// argument (u, each first derivative, each second derivative or the Laplacian): reverse-mode differentiation, whose cost
/// is a small multiple of the evaluation's, however many arguments there are. <c>float</c> in the engines,
/// <c>double</c> in the reference.
/// </summary>
/// <remarks>
/// <c>default</c> is the constant 0: node 0 means "no node", so constants never touch the tape.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct Variable<TReal> : IPdeNumber<Variable<TReal>>
    where TReal : unmanaged, IFloatingPointIeee754<TReal>
{
    private readonly TReal _value;

    // One more than the index of the tape entry that computed the value; 0 for a constant.
    private readonly int _node;

    internal Variable(TReal value, int node)
    {
        _value = value;
        _node = node;
    }

    public double Value => double.CreateTruncating(_value);

    internal TReal Primal => _value;

    internal int Node => _node;

    public static implicit operator Variable<TReal>(float constant) => new(TReal.CreateTruncating(constant), 0);

    public static Variable<TReal> operator +(Variable<TReal> left, Variable<TReal> right) =>
        Record(left._value + right._value, left, TReal.One, right, TReal.One);

    public static Variable<TReal> operator -(Variable<TReal> left, Variable<TReal> right) =>
        Record(left._value - right._value, left, TReal.One, right, -TReal.One);

    public static Variable<TReal> operator *(Variable<TReal> left, Variable<TReal> right) =>
        Record(left._value * right._value, left, right._value, right, left._value);

    // d(a/b) = da / b − a db / b²
    public static Variable<TReal> operator /(Variable<TReal> left, Variable<TReal> right)
    {
        TReal quotient = left._value / right._value;
        return Record(quotient, left, TReal.One / right._value, right, -quotient / right._value);
    }

    public static Variable<TReal> operator -(Variable<TReal> value) => Unary(-value._value, value, -TReal.One);

    public static Variable<TReal> Sin(Variable<TReal> x) => Unary(TReal.Sin(x._value), x, TReal.Cos(x._value));

    public static Variable<TReal> Cos(Variable<TReal> x) => Unary(TReal.Cos(x._value), x, -TReal.Sin(x._value));

    public static Variable<TReal> Exp(Variable<TReal> x)
    {
        TReal exp = TReal.Exp(x._value);
        return Unary(exp, x, exp);
    }

    public static Variable<TReal> Log(Variable<TReal> x) => Unary(TReal.Log(x._value), x, TReal.One / x._value);

    public static Variable<TReal> Sqrt(Variable<TReal> x)
    {
        TReal root = TReal.Sqrt(x._value);
        return Unary(root, x, TReal.CreateTruncating(0.5) / root);
    }

    public static Variable<TReal> Tanh(Variable<TReal> x)
    {
        TReal tanh = TReal.Tanh(x._value);
        return Unary(tanh, x, TReal.One - tanh * tanh);
    }

    public static Variable<TReal> Abs(Variable<TReal> x) =>
        Unary(TReal.Abs(x._value), x, x._value > TReal.Zero ? TReal.One : x._value < TReal.Zero ? -TReal.One : TReal.Zero);

    public static Variable<TReal> Pow(Variable<TReal> x, float exponent)
    {
        TReal p = TReal.CreateTruncating(exponent);
        return Unary(TReal.Pow(x._value, p), x, p * TReal.Pow(x._value, p - TReal.One));
    }

    public override string ToString() => _value.ToString(null, System.Globalization.CultureInfo.InvariantCulture);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Variable<TReal> Unary(TReal value, Variable<TReal> x, TReal partial) =>
        x._node == 0 ? new Variable<TReal>(value, 0) : new Variable<TReal>(value, Tape<TReal>.Current.Record(x._node, partial, 0, TReal.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Variable<TReal> Record(TReal value, Variable<TReal> left, TReal leftPartial, Variable<TReal> right, TReal rightPartial)
    {
        if (left._node == 0)
        {
            return Unary(value, right, rightPartial);
        }

        return right._node == 0
            ? new Variable<TReal>(value, Tape<TReal>.Current.Record(left._node, leftPartial, 0, TReal.Zero))
            : new Variable<TReal>(value, Tape<TReal>.Current.Record(left._node, leftPartial, right._node, rightPartial));
    }
}

/// <summary>
/// One thread's record of an evaluation in <see cref="Variable{TReal}"/>s: per operation, the nodes it read and its
/// partial derivatives with respect to each. The arguments are its first nodes (the leaves). Kept per thread and reused,
/// so evaluating a residual allocates nothing once the tape has grown to the longest evaluation.
/// </summary>
internal sealed class Tape<TReal>
    where TReal : unmanaged, IFloatingPointIeee754<TReal>
{
    [ThreadStatic]
    private static Tape<TReal>? t_current;

    private Entry[] _entries = new Entry[64];
    private TReal[] _adjoints = new TReal[64];
    private int _count;
    private int _leaves;

    /// <summary>The calling thread's tape.</summary>
    public static Tape<TReal> Current => t_current ??= new Tape<TReal>();

    /// <summary>Forgets the last evaluation and makes <paramref name="leaves"/> arguments, whose variables <see cref="Leaf"/> gives.</summary>
    public void Begin(int leaves)
    {
        // Entry 0 stands for "no node"; the leaves follow, reading nothing.
        _leaves = leaves;
        EnsureRoom(leaves + 1);
        new Span<Entry>(_entries, 0, leaves + 1).Clear();
        _count = leaves + 1;
    }

    /// <summary>Argument <paramref name="index"/> with <paramref name="value"/>.</summary>
    public static Variable<TReal> Leaf(int index, TReal value) => new(value, index + 1);

    /// <summary>Appends an operation that read nodes <paramref name="first"/> and <paramref name="second"/> (0: none); returns its node.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Record(int first, TReal firstPartial, int second, TReal secondPartial)
    {
        if (_count == _entries.Length)
        {
            EnsureRoom(_count + 1);
        }

        _entries[_count] = new Entry(first, firstPartial, second, secondPartial);
        return _count++;
    }

    /// <summary>
    /// The derivatives of <paramref name="result"/> with respect to each leaf into <paramref name="partials"/>: one sweep
    /// from the result back to the leaves, each entry passing its adjoint on to what it read, times its partials.
    /// </summary>
    public void Gradient(Variable<TReal> result, Span<TReal> partials)
    {
        partials[.._leaves].Clear();
        int last = result.Node;
        if (last == 0)
        {
            return; // a constant: it depends on no argument
        }

        Span<TReal> adjoints = _adjoints.AsSpan(0, last + 1);
        adjoints.Clear();
        adjoints[last] = TReal.One;
        for (int node = last; node > _leaves; node--)
        {
            TReal adjoint = adjoints[node];
            if (adjoint != TReal.Zero)
            {
                ref Entry entry = ref _entries[node];
                adjoints[entry.First] += adjoint * entry.FirstPartial;
                adjoints[entry.Second] += adjoint * entry.SecondPartial;
            }
        }

        adjoints.Slice(1, Math.Min(_leaves, last)).CopyTo(partials);
    }

    private void EnsureRoom(int count)
    {
        if (count > _entries.Length)
        {
            int length = Math.Max(count, 2 * _entries.Length);
            Array.Resize(ref _entries, length);
            _adjoints = new TReal[length];
        }
    }

    /// <summary>One recorded operation: the nodes it read (0: none) and its partial derivative with respect to each.</summary>
    private readonly record struct Entry(int First, TReal FirstPartial, int Second, TReal SecondPartial);
}
