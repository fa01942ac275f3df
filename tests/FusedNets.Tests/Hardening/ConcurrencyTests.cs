using FusedNets.Data;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Hardening;

/// <summary>
/// A network shared between threads serializes its calls: concurrent predictions equal sequential ones bit for
/// bit, training while others predict is safe and trains exactly as alone, and Dispose during use is clean.
/// </summary>
public class ConcurrencyTests
{
    // IlgpuCpu simulates a GPU with threads of its own, and is slow enough on a small machine that a few calls
    // from a few threads must do; the serialization under test lives in Network, the same for every backend.
    public static TheoryData<Backend, int, int> Backends() => new() { { Backend.Cpu, 8, 25 }, { Backend.IlgpuCpu, 2, 2 } };

    private const int Batch = 9;

    [Theory]
    [MemberData(nameof(Backends))]
    public void Predictions_from_many_threads_at_once_equal_sequential_ones(Backend backend, int threads, int rounds)
    {
        using var net = new TiledClassifier(seed: 3, backend);
        float[][] inputs = [.. Enumerable.Range(0, threads).Select(t => RandomInputs(t, t % 2 == 0 ? Batch : 1))];
        float[][] expected = [.. inputs.Select(x => Predict(net, x))];

        float[][][] actual = RunOnThreads(threads, t => Enumerable.Range(0, rounds).Select(_ => Predict(net, inputs[t])).ToArray());

        for (int t = 0; t < threads; t++)
        {
            Assert.All(actual[t], outputs => Assert.Equal(expected[t], outputs));
        }
    }

    [Fact]
    public void Conv_net_predictions_from_many_threads_at_once_equal_sequential_ones()
    {
        // One sample goes through the convolution's own single-sample path and its buffers; a batch through the
        // batched kernels.
        using var net = new LeNet(seed: 3, Backend.Cpu);
        const int Threads = 6;
        float[][] inputs = [.. Enumerable.Range(0, Threads).Select(t => RandomInputs(t, t % 2 == 0 ? Batch : 1, LeNet.InputSize))];
        float[][] expected = [.. inputs.Select(x => Predict(net, x))];

        float[][][] actual = RunOnThreads(Threads, t => Enumerable.Range(0, 10).Select(_ => Predict(net, inputs[t])).ToArray());

        for (int t = 0; t < Threads; t++)
        {
            Assert.All(actual[t], outputs => Assert.Equal(expected[t], outputs));
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Training_while_other_threads_predict_trains_exactly_as_alone(Backend backend, int threads, int rounds)
    {
        Dataset data = Dataset.ForClassification(RandomInputs(99, 40), [.. Enumerable.Range(0, 40).Select(i => i % 5)], 37);
        var sgd = new Sgd(0.05f, momentum: 0.9f);
        using var alone = new TiledClassifier(seed: 3, backend);
        alone.Fit(data, sgd, epochs: 3, batchSize: 8);
        using var shared = new TiledClassifier(seed: 3, backend);
        float[] probe = RandomInputs(5, Batch);
        using var training = new ManualResetEventSlim();

        Task fit = Task.Run(() =>
        {
            training.Set();
            shared.Fit(data, sgd, epochs: 3, batchSize: 8);
        });
        training.Wait();
        float[][][] predictions = RunOnThreads(threads, _ => Enumerable.Range(0, rounds).Select(_ => Predict(shared, probe)).ToArray());
        await fit;

        Assert.Equal(BadArgumentTests.State(alone), BadArgumentTests.State(shared));
        Assert.All(predictions.SelectMany(p => p), outputs => Assert.All(outputs, value => Assert.True(float.IsFinite(value))));
    }

    [Fact]
    public async Task Disposing_while_other_threads_predict_gives_them_results_or_ObjectDisposedException()
    {
        var net = new TiledClassifier(seed: 3, Backend.Cpu);
        float[] inputs = RandomInputs(1, Batch);
        float[] expected = Predict(net, inputs);
        const int Threads = 4;
        using var started = new CountdownEvent(Threads);

        Task<Exception?>[] callers = [.. Enumerable.Range(0, Threads).Select(_ => Task.Run<Exception?>(() =>
        {
            started.Signal();
            try
            {
                while (true)
                {
                    Assert.Equal(expected, Predict(net, inputs));
                }
            }
            catch (Exception e)
            {
                return e;
            }
        }))];
        started.Wait();
        net.Dispose();

        Assert.All(await Task.WhenAll(callers), error => Assert.IsType<ObjectDisposedException>(error));
    }

    private static float[] Predict(Network net, float[] inputs)
    {
        var outputs = new float[inputs.Length / net.Architecture.InputSize * net.Architecture.OutputSize];
        net.Predict(inputs, outputs);
        return outputs;
    }

    private static T[] RunOnThreads<T>(int threads, Func<int, T> work)
    {
        using var start = new Barrier(threads);
        Task<T>[] tasks = [.. Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                return work(t);
            },
            TaskCreationOptions.LongRunning))];
        return [.. tasks.Select(task => task.Result)];
    }

    private static float[] RandomInputs(int seed, int samples, int inputSize = TiledClassifier.InputSize)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, samples * inputSize).Select(_ => (float)random.NextDouble() * 2 - 1)];
    }
}
