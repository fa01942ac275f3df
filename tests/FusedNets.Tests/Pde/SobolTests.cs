namespace FusedNets.Tests.Pde;

/// <summary>The Sobol' sequence from Joe and Kuo's direction numbers, and the regions points are drawn from.</summary>
public class SobolTests
{
    [Fact]
    public void The_first_points_in_two_dimensions_are_scipys_unscrambled_ones()
    {
        // scipy.stats.qmc.Sobol(d=2, scramble=False).random_base2(m=3)
        double[][] expected = [[0, 0], [0.5, 0.5], [0.75, 0.25], [0.25, 0.75], [0.375, 0.375], [0.875, 0.875], [0.625, 0.125], [0.125, 0.625]];
        var sobol = new SobolSequence(2);
        var point = new double[2];
        foreach (double[] row in expected)
        {
            sobol.Next(point);
            Assert.Equal(row, point);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(51)]
    [InlineData(1024)]
    public void The_first_2_to_the_m_points_of_every_coordinate_fill_every_interval_of_length_2_to_the_minus_m_once(int dimensions)
    {
        const int m = 10;
        var sobol = new SobolSequence(dimensions);
        var point = new double[dimensions];
        var seen = new bool[dimensions, 1 << m];
        for (int n = 0; n < 1 << m; n++)
        {
            sobol.Next(point);
            for (int j = 0; j < dimensions; j++)
            {
                int cell = (int)(point[j] * (1 << m));
                Assert.False(seen[j, cell], $"coordinate {j}: two points in [{cell}/2^{m}, {cell + 1}/2^{m})");
                seen[j, cell] = true;
            }
        }
    }

    [Fact]
    public void The_first_64_points_of_the_first_two_coordinates_put_one_point_in_every_dyadic_box_of_area_one_64th()
    {
        // A (0, 6, 2)-net: every box [a/2^k, (a+1)/2^k) × [b/2^(6−k), (b+1)/2^(6−k)) holds exactly one point.
        var sobol = new SobolSequence(2);
        var points = new double[64][];
        for (int n = 0; n < 64; n++)
        {
            points[n] = new double[2];
            sobol.Next(points[n]);
        }

        for (int k = 0; k <= 6; k++)
        {
            var counts = new int[1 << k, 1 << (6 - k)];
            foreach (double[] p in points)
            {
                counts[(int)(p[0] * (1 << k)), (int)(p[1] * (1 << (6 - k)))]++;
            }

            Assert.All(counts.Cast<int>(), count => Assert.Equal(1, count));
        }
    }

    [Fact]
    public void Points_drawn_from_faces_lie_on_them_in_proportion_to_their_areas()
    {
        var box = new Box([0f, -1f], [1f, 3f]);
        var network = new Networks.PoissonNet(backend: Backend.Cpu);
        var training = new PdeTraining(network).Points(nameof(Networks.PoissonNet.Boundary), box.Faces(1), count: 1000);

        ReadOnlySpan<float> points = training.CurrentPoints(nameof(Networks.PoissonNet.Boundary));
        int lower = 0, upper = 0;
        for (int p = 0; p < 1000; p++)
        {
            float x = points[2 * p], y = points[2 * p + 1];
            Assert.InRange(x, 0f, 1f);
            Assert.True(y == -1f || y == 3f, $"point {p} is not on y = -1 or y = 3: ({x}, {y})");
            (y == -1f ? ref lower : ref upper)++;
        }

        Assert.Equal(500, lower);
        Assert.Equal(500, upper);
        network.Dispose();
    }
}
