using System.Diagnostics;

namespace FusedNets.Bench;

/// <summary>
/// <c>--isa-sweep</c>: the whole benchmark once per vector path of the CPU engine, each in a child process whose
/// runtime is told to leave the wider instruction sets unused, so the engine picks that path as it would on a
/// machine without them. Each line a child prints comes out prefixed with its path and switch.
/// </summary>
/// <remarks>
/// The switches are .NET 10's (checked with SDK 10.0.401): <c>DOTNET_EnableAVX512=0</c> (the older
/// <c>DOTNET_EnableAVX512F=0</c> is no longer read and changes nothing); <c>DOTNET_EnableAVX=0</c>, which also
/// turns off AVX2, FMA and AVX-512, leaving SSE up to 4.2, NativeAOT's default target; and
/// <c>DOTNET_EnableHWIntrinsic=0</c>, no SIMD at all. A child whose machine lacks a path runs a narrower one;
/// its <c>isa=</c> says which.
/// </remarks>
internal static class IsaSweep
{
    private static readonly (string Path, string? Switch)[] Paths =
    [
        ("AVX-512", null),
        ("AVX2", "DOTNET_EnableAVX512=0"),
        ("SSE", "DOTNET_EnableAVX=0"),
        ("scalar", "DOTNET_EnableHWIntrinsic=0"),
    ];

    /// <summary>Runs the benchmark with <paramref name="benchmarkArguments"/> on every path; returns the first failing child's exit code, else 0.</summary>
    public static int Run(IEnumerable<string> benchmarkArguments)
    {
        foreach ((string path, string? runtimeSwitch) in Paths)
        {
            ProcessStartInfo start = ThisBenchmark();
            foreach (string argument in benchmarkArguments)
            {
                start.ArgumentList.Add(argument);
            }

            if (runtimeSwitch is not null)
            {
                string[] nameAndValue = runtimeSwitch.Split('=');
                start.Environment[nameAndValue[0]] = nameAndValue[1];
            }

            using Process child = Process.Start(start)!;
            for (string? line; (line = child.StandardOutput.ReadLine()) is not null;)
            {
                Console.WriteLine($"path={path} switch={runtimeSwitch ?? "none"} {line}");
            }

            child.WaitForExit();
            if (child.ExitCode != 0)
            {
                Console.Error.WriteLine($"the {path} run failed with exit code {child.ExitCode}");
                return child.ExitCode;
            }
        }

        return 0;
    }

    /// <summary>A start of this same program: its apphost, or <c>dotnet</c> with its assembly.</summary>
    private static ProcessStartInfo ThisBenchmark()
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark cannot find its own executable.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(IsaSweep).Assembly.Location);
        }

        return start;
    }
}
