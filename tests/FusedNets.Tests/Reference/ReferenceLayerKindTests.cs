using FusedNets.Reference;

namespace FusedNets.Tests.Reference;

/// <summary>
/// Each spatial kind of the reference on inputs small enough to compute by hand: what a convolution, max pooling and
/// average pooling compute, and the (C, H, W) order in which a dense layer reads a map. Their gradients are checked
/// against finite differences in <see cref="ReferenceGradientTests"/>.
/// </summary>
public class ReferenceLayerKindTests
{
    // The 1 × 3 × 3 image
    //   1 2 3
    //   4 5 6
    //   7 8 9
    private static readonly double[] Image = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    [Fact]
    public void A_convolution_is_PyTorchs_cross_correlation_plus_the_bias()
    {
        // One 2 × 2 filter [[1, 0], [0, -1]] (not flipped: cross-correlation), bias 10: each output is
        // 10 + top-left − bottom-right of its window = 10 − 4.
        double[] z = Forward(new Conv2DLayerArchitecture("C", (1, 3, 3), 1, 2, stride: 1, padding: 0, Activation.Identity, LayerMask.None), [1, 0, 0, -1, 10], Image);

        Assert.Equal([6, 6, 6, 6], z);
    }

    [Fact]
    public void Padding_adds_zeros_around_the_input_and_stride_skips_positions()
    {
        // A 3 × 3 filter of ones over the image padded by 1, every second position: the sums of the four corner
        // windows, each of which sees a 2 × 2 block of the image.
        double[] z = Forward(new Conv2DLayerArchitecture("C", (1, 3, 3), 1, 3, stride: 2, padding: 1, Activation.Identity, LayerMask.None), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0], Image);

        Assert.Equal([1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9], z);
    }

    [Fact]
    public void Each_filter_sums_over_every_input_channel()
    {
        // Two channels (the image and its negative times 2), two 1 × 1 filters: [1, 1] gives −image, [2, 1] gives 0.
        double[] twoChannels = [.. Image, .. Image.Select(v => -2 * v)];
        double[] z = Forward(new Conv2DLayerArchitecture("C", (2, 3, 3), 2, 1, stride: 1, padding: 0, Activation.Identity, LayerMask.None), [1, 1, 2, 1, 0, 0], twoChannels);

        Assert.Equal([.. Image.Select(v => -v), .. new double[9]], z);
    }

    [Fact]
    public void Max_pooling_takes_the_largest_of_each_window_and_drops_what_does_not_fill_one()
    {
        // 2 × 2 windows over 3 × 3: one window (the last row and column fit none), as floor((3 − 2) / 2) + 1 = 1.
        double[] z = Forward(new MaxPool2DLayerArchitecture("P", (1, 3, 3), 2), [], Image);

        Assert.Equal([5], z);
    }

    [Fact]
    public void Max_pooling_sends_the_gradient_to_the_first_largest_value_of_its_window()
    {
        var pool = new MaxPool2DLayerArchitecture("P", (1, 2, 4), 2);
        double[] x = [3, 7, 1, 1, 7, 2, 1, 1]; // window 0 holds 7 twice; window 1 holds only 1s
        var dx = new double[8];

        pool.ReferenceBackward([], x, default, [10, 20], [], dx, batch: 1);

        Assert.Equal([0, 10, 20, 0, 0, 0, 0, 0], dx);
    }

    [Fact]
    public void Average_pooling_takes_the_mean_of_each_window_and_spreads_the_gradient_evenly()
    {
        var pool = new AvgPool2DLayerArchitecture("P", (1, 2, 4), 2);
        double[] x = [1, 2, 3, 4, 5, 6, 7, 8];
        var z = new double[2];
        var dx = new double[8];

        pool.ReferenceForward([], x, z, batch: 1);
        pool.ReferenceBackward([], x, z, [4, 8], [], dx, batch: 1);

        Assert.Equal([(1 + 2 + 5 + 6) / 4.0, (3 + 4 + 7 + 8) / 4.0], z);
        Assert.Equal([1, 1, 2, 2, 1, 1, 2, 2], dx);
    }

    [Fact]
    public void A_dense_layer_after_a_map_reads_it_flattened_channel_by_channel_then_row_by_row()
    {
        // Identity 1 × 1 convolution with two filters, then a dense layer whose single output picks input 5 of the
        // 2 × 3 × 3 map: channel 0, row 1, column 2 (the image's 6).
        var architecture = new NetworkArchitecture("Flatten", Loss.MeanSquaredError, "Image", (1, 3, 3),
        [
            new Conv2DLayerArchitecture("C", (1, 3, 3), 2, 1, stride: 1, padding: 0, Activation.Identity, LayerMask.None),
            new DenseLayerArchitecture("D", 1, 18, Activation.Identity, LayerMask.None),
        ]);
        float[] parameters = [1, -1, 0, 0, .. Enumerable.Range(0, 18).Select(i => i == 5 ? 1f : 0f), 0];
        var network = new ReferenceNetwork(architecture, parameters, [null, null]);

        Assert.Equal([6.0], network.Forward(Image, batch: 1));
    }

    private static double[] Forward(LayerArchitecture layer, double[] parameters, double[] x)
    {
        var z = new double[layer.Units];
        layer.ReferenceForward(parameters, x, z, batch: 1);
        return z;
    }
}
