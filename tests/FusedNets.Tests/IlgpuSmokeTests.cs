using FusedNets.Tests.Networks;

namespace FusedNets.Tests;

public class IlgpuSmokeTests
{
    [Fact]
    public void Tiny_network_trains_on_the_ilgpu_cpu_accelerator()
    {
        using var net = new EveryActivationClassifier(seed: 1, backend: Backend.IlgpuCpu);
        float[] x = Enumerable.Range(0, 5 * 4).Select(i => (float)Math.Sin(i)).ToArray();
        int[] labels = [0, 1, 2, 3];
        var sgd = new Sgd(0.1f, 0.9f);
        float first = net.TrainBatch(x, labels, sgd);
        float last = first;
        for (int i = 0; i < 50; i++)
        {
            last = net.TrainBatch(x, labels, sgd);
        }

        Assert.True(last < first, $"{first} -> {last}");
    }
}
