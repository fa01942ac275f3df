using System.Diagnostics;
using System.Text;

namespace FusedNets.Tests.Packaging;

/// <summary>Runs the dotnet command line as a child process, as a person would in a terminal.</summary>
internal static class DotnetCli
{
    /// <summary>Long enough for a cold pack on a busy 2-core machine; short enough that a hung build fails the test.</summary>
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(4);

    /// <summary>
    /// Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>, with
    /// <paramref name="environment"/> added to this process's environment, and returns its standard output and
    /// error, interleaved. A non-zero exit code or a timeout fails the test with the output's end, where dotnet
    /// puts its errors.
    /// </summary>
    public static string Run(string workingDirectory, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
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

        string command = $"dotnet {string.Join(' ', arguments)}";
        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{command}' did not finish within {s_timeout.TotalMinutes} minutes. Its output ended with:\n{Tail(output)}");
        }

        process.WaitForExit(); // drains the redirected output
        if (process.ExitCode != 0)
        {
            Assert.Fail($"'{command}' exited with code {process.ExitCode}. Its output ended with:\n{Tail(output)}");
        }

        lock (output)
        {
            return output.ToString();
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
            const int Length = 6000;
            return output.Length <= Length ? output.ToString() : "…" + output.ToString(output.Length - Length, Length);
        }
    }
}
