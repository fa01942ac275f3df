using System.Globalization;
using System.Text;
using FusedNets.Data;

namespace FusedNets.Tests.Data;

public sealed class CsvTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Classification_reads_features_and_the_label_in_the_last_column()
    {
        string path = _directory.WriteText("set.csv", "0,16,8,3\n4,2,0,1\n");

        Dataset data = Csv.ReadClassification(path, featureScale: 1f / 16);

        Assert.True(data.IsClassification);
        Assert.Equal((2, 3), (data.Count, data.FeatureCount));
        Assert.Equal([0f, 1f, 0.5f, 0.25f, 0.125f, 0f], data.Features.ToArray());
        Assert.Equal([3, 1], data.Labels.ToArray());
    }

    [Fact]
    public void The_label_can_sit_in_any_column()
    {
        string path = _directory.WriteText("set.csv", "2,0.5,1.5\n0,-1,1e-1\n");

        Dataset data = Csv.ReadClassification(path, labelColumn: 0);

        Assert.Equal([2, 0], data.Labels.ToArray());
        Assert.Equal([0.5f, 1.5f, -1f, 0.1f], data.Features.ToArray());
    }

    [Fact]
    public void Headers_blank_lines_spaces_and_crlf_line_ends_are_accepted()
    {
        string path = _directory.WriteText("set.csv", "\"width, cm\",height,class\r\n1.5 , 2,1\r\n\r\n  3,4 ,0\r\n");

        Dataset data = Csv.ReadClassification(path, hasHeader: true);

        Assert.Equal([1.5f, 2f, 3f, 4f], data.Features.ToArray());
        Assert.Equal([1, 0], data.Labels.ToArray());
    }

    [Fact]
    public void Skipped_rows_pass_over_a_preamble_like_scikit_learns_line_of_counts_and_class_names()
    {
        // As iris.csv begins: the sample and feature counts, then the class names; the data follows.
        string path = _directory.WriteText("iris.csv", "150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n6.3,3.3,6.0,2.5,2\n");

        Dataset data = Csv.ReadClassification(path, skipRows: 1);

        Assert.Equal([5.1f, 3.5f, 1.4f, 0.2f, 6.3f, 3.3f, 6.0f, 2.5f], data.Features.ToArray());
        Assert.Equal([0, 2], data.Labels.ToArray());
    }

    [Fact]
    public void Skipped_rows_count_blank_lines_and_come_before_the_header()
    {
        // A line of counts, a blank line, then a line of names as the header.
        const string Text = "3,2,,\n\n\"x\",\"y\",\"target\"\n1,2,0.5\n3,4,-1\n";

        Dataset withHeader = Csv.ReadRegression(new MemoryStream(Encoding.UTF8.GetBytes(Text)), hasHeader: true, skipRows: 2);
        Dataset skippingAll = Csv.ReadRegression(new MemoryStream(Encoding.UTF8.GetBytes(Text)), skipRows: 3);

        Assert.Equal([1f, 2f, 3f, 4f], withHeader.Features.ToArray());
        Assert.Equal([0.5f, -1f], withHeader.Targets.ToArray());
        Assert.Equal(withHeader.Features.ToArray(), skippingAll.Features.ToArray());
        Assert.Equal(withHeader.Targets.ToArray(), skippingAll.Targets.ToArray());
    }

    [Fact]
    public void Errors_after_skipped_rows_name_the_line_in_the_file()
    {
        string path = _directory.WriteText("set.csv", "preamble\nmore preamble\n1,2,0\n1,x,0\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path, skipRows: 2));

        Assert.Contains("line 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skipping_every_row_leaves_no_data_and_a_negative_count_is_refused()
    {
        string path = _directory.WriteText("set.csv", "1,2,0\n3,4,1\n");

        Assert.Contains("no data rows", Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path, skipRows: 2)).Message, StringComparison.Ordinal);
        Assert.Equal("skipRows", Assert.Throws<ArgumentOutOfRangeException>(() => Csv.ReadClassification(path, skipRows: -1)).ParamName);
        Assert.Equal("skipRows", Assert.Throws<ArgumentOutOfRangeException>(() => Csv.ReadRegression(path, skipRows: -1)).ParamName);
    }

    [Fact]
    public void Labels_written_as_whole_floats_are_accepted()
    {
        string path = _directory.WriteText("set.csv", "0.25,3.0\n0.5,1e1\n");

        Assert.Equal([3, 10], Csv.ReadClassification(path).Labels.ToArray());
    }

    [Fact]
    public void Numbers_use_the_invariant_culture_whatever_the_current_one()
    {
        string path = _directory.WriteText("set.csv", "1.5,2.25,1\n");
        CultureInfo original = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");

            Assert.Equal([1.5f, 2.25f], Csv.ReadClassification(path).Features.ToArray());
        }
        finally
        {
            CultureInfo.CurrentCulture = original;
        }
    }

    [Fact]
    public void Gzip_files_read_like_plain_ones()
    {
        string path = _directory.WriteGzip("set.csv.gz", Encoding.UTF8.GetBytes("1,2,0\n3,4,1\n"));

        Dataset data = Csv.ReadClassification(path);

        Assert.Equal([1f, 2f, 3f, 4f], data.Features.ToArray());
        Assert.Equal([0, 1], data.Labels.ToArray());
    }

    [Fact]
    public void A_stream_is_read_from_its_position_and_left_open()
    {
        var stream = new MemoryStream(TempDirectory.Gzip(Encoding.UTF8.GetBytes("1,2,0\n")));

        Dataset data = Csv.ReadClassification(stream, name: "digits");

        Assert.Equal([1f, 2f], data.Features.ToArray());
        Assert.True(stream.CanRead);
    }

    [Fact]
    public void A_stream_that_cannot_seek_is_read_too()
    {
        using var stream = new ForwardOnlyStream(TempDirectory.Gzip(Encoding.UTF8.GetBytes("1,2,0\n5,6,1\n")));

        Assert.Equal([0, 1], Csv.ReadClassification(stream).Labels.ToArray());
    }

    [Fact]
    public void Regression_takes_the_last_columns_as_unscaled_targets()
    {
        string path = _directory.WriteText("set.csv", "x1,x2,y1,y2\n1,2,10,20\n3,4,30,40\n");

        Dataset data = Csv.ReadRegression(path, targetCount: 2, hasHeader: true, featureScale: 0.5f);

        Assert.False(data.IsClassification);
        Assert.Equal((2, 2, 2), (data.Count, data.FeatureCount, data.TargetCount));
        Assert.Equal([0.5f, 1f, 1.5f, 2f], data.Features.ToArray());
        Assert.Equal([10f, 20f, 30f, 40f], data.Targets.ToArray());
    }

    [Fact]
    public void A_ragged_row_is_reported_with_its_line_and_the_first_rows_line()
    {
        string path = _directory.WriteText("ragged.csv", "a,b,c\n1,2,0\n3,4,1\n5,0\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path, hasHeader: true));

        Assert.Contains($"{path}, line 4", error.Message);
        Assert.Contains("2 fields, but line 2 has 3", error.Message);
    }

    [Fact]
    public void A_non_numeric_field_is_reported_with_its_line_and_column()
    {
        string path = _directory.WriteText("words.csv", "1,2,0\n3,four,1\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path));

        Assert.Contains($"{path}, line 2: column 2, \"four\", is not a finite number", error.Message);
    }

    [Fact]
    public void A_decimal_comma_is_not_a_number()
    {
        string path = _directory.WriteText("comma.csv", "1;5,2\n");

        Assert.Throws<InvalidDataException>(() => Csv.ReadRegression(path));
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("1e50")]
    public void Non_finite_features_are_rejected(string field)
    {
        string path = _directory.WriteText("inf.csv", $"{field},1\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path));

        Assert.Contains("line 1: column 1", error.Message);
    }

    [Fact]
    public void An_empty_field_is_reported()
    {
        string path = _directory.WriteText("trailing.csv", "1,2,\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path));

        Assert.Contains("line 1: column 3 is empty", error.Message);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("2.5")]
    [InlineData("cat")]
    public void A_label_that_is_not_a_non_negative_integer_is_rejected(string label)
    {
        string path = _directory.WriteText("labels.csv", $"1,2,0\n1,2,{label}\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path));

        Assert.Contains("line 2: column 3", error.Message);
        Assert.Contains("is not a class label", error.Message);
    }

    [Fact]
    public void A_file_without_data_rows_is_reported()
    {
        string path = _directory.WriteText("header-only.csv", "a,b,label\n\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path, hasHeader: true));

        Assert.Contains($"{path}: the file holds no data rows", error.Message);
    }

    [Fact]
    public void A_label_column_outside_the_rows_is_reported()
    {
        string path = _directory.WriteText("narrow.csv", "1,2\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path, labelColumn: 5));

        Assert.Contains("line 1", error.Message);
        Assert.Contains("column 6, but the row has 2 fields", error.Message);
    }

    [Fact]
    public void Rows_with_only_targets_are_rejected()
    {
        string path = _directory.WriteText("targets.csv", "1,2\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadRegression(path, targetCount: 2));

        Assert.Contains("at least one feature", error.Message);
    }

    [Fact]
    public void A_long_bad_field_is_shortened_in_the_message()
    {
        string path = _directory.WriteText("binary.csv", new string('x', 10_000) + ",1\n");

        var error = Assert.Throws<InvalidDataException>(() => Csv.ReadClassification(path));

        Assert.True(error.Message.Length < 400, error.Message);
    }

    /// <summary>A stream that can only be read forwards, like a network response.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
