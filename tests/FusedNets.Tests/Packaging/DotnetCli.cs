using System.Diagnostics;
using System.Text;

namespace FusedNets.Tests.Packaging;

/// <summary>Runs the dotnet command line as a child process, as a person would in a terminal.</summary>
internal static class DotnetCli
{
    /// <summary>Long enough for a cold pack or a NativeAOT publish on a busy 2-core machine; short enough that a hung build fails the test.</summary>
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(8);

    /// <summary>
    /// Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>, with
    /// <paramref name="environment"/> added to this process's environment, and returns its standard output and
    /// error, interleaved. A non-zero exit code or a timeout fails the test with the output's end, where dotnet
    /// puts its errors.
    /// </summary>
    public static string Run(string workingDirectory, string[] arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        Run("dotnet", workingDirectory, arguments, environment);

    /// <summary>
    /// Runs <paramref name="program"/> (<c>dotnet</c>, or a published app's path) as <see cref="Run(string, string[], IReadOnlyDictionary{string, string}?)"/>
    /// runs dotnet, with the same environment and the same checks.
    /// </summary>
    public static string Run(string program, string workingDirectory, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        (int exitCode, string output) = TryRun(program, workingDirectory, arguments, environment);
        if (exitCode != 0)
        {
            Assert.Fail($"'{program} {string.Join(' ', arguments)}' exited with code {exitCode}. Its output ended with:\n{Tail(output)}");
        }

        return output;
    }

    /// <summary>Runs <paramref name="program"/> as <see cref="Run(string, string, string[], IReadOnlyDictionary{string, string}?)"/> does but returns its exit code instead of failing on it.</summary>
    public static (int ExitCode, string Output) TryRun(string program, string workingDirectory, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program == "dotnet" ? Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet" : program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test runner was started by a build, whose MSBuild settings must not leak into this one.
        foreach (string name in start.Environment.Keys.Where(key => key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No MSBuild worker processes left running after the test.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, line) => Append(line.Data);
        process.ErrorDataReceived += (_, line) => Append(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{program} {string.Join(' ', arguments)}' did not finish within {s_timeout.TotalMinutes} minutes. Its output ended with:\n{Tail(output)}");
        }

        process.WaitForExit(); // drains the redirected output
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }
    }

    private static string Tail(StringBuilder output)
    {
        lock (output)
        {
            return Tail(output.ToString());
        }
    }

    private static string Tail(string output)
    {
        const int Length = 6000;
        return output.Length <= Length ? output : "…" + output[^Length..];
    }
}
