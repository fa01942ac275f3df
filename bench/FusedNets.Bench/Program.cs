// FusedNets CPU benchmark: training throughput, achieved GFLOP/s against the machine's measured FMA peak,
// single-sample latency and allocations, for four MNIST-shaped networks and LeNet on Backend.Cpu.
//
// Run it:
//   dotnet run -c Release --project bench/FusedNets.Bench               the full run (about 50 seconds)
//   dotnet run -c Release --project bench/FusedNets.Bench -- --quick    fewer, shorter rounds
//   ... -- --only 1024                                                  only configurations whose name contains "1024"
//   ... -- --isa-sweep                                                  all of it once per vector path: AVX-512, AVX2, SSE, scalar
//
// The peak, then one line per configuration, then nothing else on it, for scripts:
//   peak_gflops=N threads=N peak_gflops_1_thread=N isa=AVX-512 chains=12 engine="CPU (AVX-512, 2 threads)"
//   config=784-128-128-10/b64 train_samples_per_s=N gflops=N peak_fraction=N latency_us_batch1=N allocated_bytes_per_step=N
//   config=pinn/poisson2d/2-64-64-64-1/1024+256 steps_per_s=N allocated_bytes_per_step=N      (--only pinn)
//   config=ensemble8/784-32-32-10/b64 sequential_member_samples_per_s=N fused_member_samples_per_s=N speedup=N allocated_bytes_per_step=N
// With --isa-sweep, each of those lines is prefixed with path=P switch=S (see IsaSweep.cs).

using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using FusedNets;
using FusedNets.Bench;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Contains("--isa-sweep"))
{
    return IsaSweep.Run(args.Where(argument => argument != "--isa-sweep"));
}

bool quick = args.Contains("--quick");
int onlyAt = Array.IndexOf(args, "--only");
string only = onlyAt >= 0 && onlyAt + 1 < args.Length ? args[onlyAt + 1] : "";
var settings = quick ? Settings.Quick : Settings.Full;

// The engine runs one thread per processor (the caller's included); the peak uses the same count. It is
// measured before and after the networks and the higher taken, so that a burst of other work during one
// measurement on a shared machine cannot lower the bar the networks are held to.
int threads = Environment.ProcessorCount;
double peakBefore = PeakFlops.Measure(threads, settings.PeakRounds);

var harness = new Harness(settings);
var results = new List<Result>();
if ("784-32-32-10/b16".Contains(only, StringComparison.Ordinal))
{
    results.Add(harness.Run<Mlp32, Mlp32.Input, Mlp32.Output>("784-32-32-10/b16", 16, new Mlp32(seed: 1, Backend.Cpu)));
}

if ("784-128-128-10/b64".Contains(only, StringComparison.Ordinal))
{
    results.Add(harness.Run<Mlp128, Mlp128.Input, Mlp128.Output>("784-128-128-10/b64", 64, new Mlp128(seed: 1, Backend.Cpu)));
}

if ("784-512-512-10/b256".Contains(only, StringComparison.Ordinal))
{
    results.Add(harness.Run<Mlp512, Mlp512.Input, Mlp512.Output>("784-512-512-10/b256", 256, new Mlp512(seed: 1, Backend.Cpu)));
}

if ("784-1024-1024-10/b128".Contains(only, StringComparison.Ordinal))
{
    results.Add(harness.Run<Mlp1024, Mlp1024.Input, Mlp1024.Output>("784-1024-1024-10/b128", 128, new Mlp1024(seed: 1, Backend.Cpu)));
}

// Its sparse twin: the masked layers' kernels visit only the kept tenth of the weights.
if ("784-512-512-10/b256/density0.1".Contains(only, StringComparison.Ordinal))
{
    results.Add(harness.Run<Mlp512Sparse, Mlp512Sparse.Input, Mlp512Sparse.Output>("784-512-512-10/b256/density0.1", 256, new Mlp512Sparse(seed: 1, Backend.Cpu)));
}

// LeNet (issue 10) on MNIST's shapes; like every network here it runs at the width the engine picks, which
// --isa-sweep narrows path by path. Its name says the width, for tables that gather several runs.
if ("lenet/b64".Contains(only, StringComparison.Ordinal))
{
    string width = Vector512.IsHardwareAccelerated ? "avx512"
        : Vector256.IsHardwareAccelerated ? "avx2"
        : Vector128.IsHardwareAccelerated ? (AdvSimd.IsSupported ? "neon" : "sse")
        : "scalar";
    results.Add(harness.Run<LeNet, LeNet.Input, LeNet.Output>($"lenet/b64/{width}", 64, new LeNet(seed: 1, Backend.Cpu)));
}

// Physics-informed training (issue 15): Poisson on the unit square, steps per second (docs/pde.md).
(double StepsPerSecond, double AllocatedBytesPerStep)? pinn = PdeBench.Config.Contains(only, StringComparison.Ordinal) ? PdeBench.Run(settings) : null;

// Issue 14's deep ensemble: 8 members of 784-32-32-10 at batch 64, one after another and fused into one pass.
EnsembleResult? ensemble = "ensemble8/784-32-32-10/b64".Contains(only, StringComparison.Ordinal)
    ? harness.RunEnsemble<Mlp32>("ensemble8/784-32-32-10/b64", members: 8, batchSize: 64)
    : null;

double peak = Math.Max(peakBefore, PeakFlops.Measure(threads, settings.PeakRounds));

// One thread's peak bounds the single-sample path, which runs on the calling thread alone.
double peakOneThread = PeakFlops.Measure(1, settings.PeakRounds);
string engine = results.Count > 0 ? results[0].Engine : "";
Console.WriteLine($"peak_gflops={peak:F1} threads={threads} peak_gflops_1_thread={peakOneThread:F1} isa={PeakFlops.Isa} chains=12 engine=\"{engine}\"");
foreach (Result result in results)
{
    Console.WriteLine(
        $"config={result.Config} train_samples_per_s={result.SamplesPerSecond:F0} gflops={result.Gflops:F1} peak_fraction={result.Gflops / peak:F3} " +
        $"latency_us_batch1={result.LatencyMicroseconds:F2} allocated_bytes_per_step={result.AllocatedBytesPerStep:0.#}");
}

if (pinn is { } physicsInformed)
{
    Console.WriteLine($"config={PdeBench.Config} steps_per_s={physicsInformed.StepsPerSecond:F1} allocated_bytes_per_step={physicsInformed.AllocatedBytesPerStep:0.#}");
}

if (ensemble is not null)
{
    Console.WriteLine(
        $"config={ensemble.Config} sequential_member_samples_per_s={ensemble.SequentialSamplesPerSecond:F0} fused_member_samples_per_s={ensemble.EnsembleSamplesPerSecond:F0} " +
        $"speedup={ensemble.EnsembleSamplesPerSecond / ensemble.SequentialSamplesPerSecond:F2} allocated_bytes_per_step={ensemble.AllocatedBytesPerStep:0.#}");
}

return 0;
