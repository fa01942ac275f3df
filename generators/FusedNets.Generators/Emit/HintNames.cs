using System;
using System.Globalization;
using FusedNets.Generators.Model;

namespace FusedNets.Generators.Emit;

/// <summary>
/// The name of each network's generated file: its full metadata name. Roslyn wants these unique ignoring case,
/// while C# types may differ only in case (Net and NET): of such networks, the first in ordinal order keeps its
/// name and each other one gets a number.
/// </summary>
internal static class HintNames
{
    /// <param name="typeName">The network's full metadata name.</param>
    /// <param name="allTypeNames">Every network's in the compilation, in ordinal order.</param>
    public static string For(string typeName, EquatableArray<string> allTypeNames)
    {
        int sameIgnoringCase = 0;
        foreach (string other in allTypeNames)
        {
            if (string.Equals(other, typeName, StringComparison.Ordinal))
            {
                break;
            }

            if (string.Equals(other, typeName, StringComparison.OrdinalIgnoreCase))
            {
                sameIgnoringCase++;
            }
        }

        // A metadata name never has a part that starts with a digit, so the number cannot meet another network's name.
        string number = sameIgnoringCase == 0 ? "" : "." + (sameIgnoringCase + 1).ToString(CultureInfo.InvariantCulture);
        return typeName + number + ".g.cs";
    }
}
