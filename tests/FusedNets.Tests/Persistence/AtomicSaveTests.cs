using FusedNets.Persistence;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Persistence;

/// <summary>Saving replaces the file in one step: a save that fails midway leaves the previous model intact.</summary>
public class AtomicSaveTests
{
    [Fact]
    public void Saving_over_a_model_replaces_it_and_leaves_no_temporary_file()
    {
        string directory = ModelFileTests.TemporaryDirectory();
        string path = Path.Combine(directory, "model.safetensors");
        using var first = new TinyRegressor(seed: 1, Backend.IlgpuCpu);
        using var second = new TinyRegressor(seed: 2, Backend.IlgpuCpu);

        first.Save(path);
        second.Save(path);

        Assert.Equal(ModelFileTests.SaveToBytes(second), File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(directory));
    }

    [Fact]
    public void A_write_that_fails_midway_leaves_the_previous_file_intact()
    {
        string directory = ModelFileTests.TemporaryDirectory();
        string path = Path.Combine(directory, "model.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);

        var error = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new IOException("The disk is full.");
        }));

        Assert.Equal("The disk is full.", error.Message);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(directory));
    }

    [Fact]
    public void A_save_that_fails_leaves_the_previous_model_intact()
    {
        string directory = ModelFileTests.TemporaryDirectory();
        string path = Path.Combine(directory, "model.safetensors");
        using var saved = new TinyRegressor(seed: 1, Backend.IlgpuCpu);
        saved.Save(path);
        byte[] before = File.ReadAllBytes(path);
        var disposed = new TinyRegressor(seed: 2, Backend.IlgpuCpu);
        disposed.Dispose();

        Assert.Throws<ObjectDisposedException>(() => disposed.Save(path));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(directory));
    }
}
