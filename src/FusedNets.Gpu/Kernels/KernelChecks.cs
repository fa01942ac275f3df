using ILGPU;

namespace FusedNets.Gpu;

/// <summary>
/// The divergence checks every kernel shares, and the library's own small kernels (the snapshot copy, the batch
/// gathers). A step's status is one int on the device: 0 while every value is finite, else one more than the index
/// of the first step that produced a value that is not. Once it is set, every kernel returns at once, so the
/// snapshot taken before the failing step keeps the last good state.
/// </summary>
internal static class KernelChecks
{
    /// <summary>
    /// The first line of every explicitly grouped kernel: true once a step has failed. The whole group agrees on the
    /// answer, so no thread skips a barrier its neighbours wait at.
    /// </summary>
    public static bool StepFailedInGroup(ArrayView<int> status) => Group.BarrierOr(status[0] != 0);

    /// <summary>Records <paramref name="step"/> as failed when <paramref name="value"/> is NaN or infinite; the first failure wins.</summary>
    public static void FlagIfNotFinite(ArrayView<int> status, int step, float value)
    {
        // value - value is 0 exactly when value is finite (NaN and ±∞ give NaN): no intrinsic needed on any backend.
        if (value - value != 0f)
        {
            Atomic.CompareExchange(ref status[0], 0, step + 1);
        }
    }

    /// <summary>Copies one element unless a step has failed: the snapshot then keeps the last good state.</summary>
    public static void CopyWhileHealthy(Index1D index, ArrayView<int> status, ArrayView<float> source, ArrayView<float> target)
    {
        if (status[0] == 0)
        {
            target[index] = source[index];
        }
    }

    /// <summary>Gathers one batch row element by row element: target[r, c] = source[order[first + r], c].</summary>
    public static void GatherRows(Index1D index, ArrayView<int> status, ArrayView<float> source, ArrayView<int> order, ArrayView<float> target, int first, int width)
    {
        if (status[0] == 0)
        {
            int row = index / width;
            target[index] = source[(long)order[first + row] * width + (index - row * width)];
        }
    }

    /// <summary>Gathers one batch's labels: target[r] = source[order[first + r]].</summary>
    public static void GatherLabels(Index1D index, ArrayView<int> status, ArrayView<int> source, ArrayView<int> order, ArrayView<int> target, int first)
    {
        if (status[0] == 0)
        {
            target[index] = source[order[first + index]];
        }
    }
}
