using System.Numerics;
using System.Runtime.InteropServices;

namespace FusedNets;

/// <summary>Finds NaN and infinities in argument spans, fast enough to run on every training batch.</summary>
internal static class NonFinite
{
    /// <summary>The index of the first value that is NaN or infinite, or -1 if every value is finite.</summary>
    public static int IndexOf(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            // x * 0 is 0 for every finite x and NaN for NaN and ±infinity, and NaN survives any sum: one
            // multiply-add per vector and a single compare at the end, so all-finite data (the usual case)
            // costs a fraction of a memory pass. Only when the probe fails is the culprit looked up.
            ref float start = ref MemoryMarshal.GetReference(values);
            Vector<float> probe = Vector<float>.Zero;
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                probe += Vector.LoadUnsafe(ref start, (nuint)i) * Vector<float>.Zero;
            }

            if (!Vector.EqualsAll(probe, Vector<float>.Zero))
            {
                i = 0;
            }
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
