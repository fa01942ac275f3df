using System.Globalization;

namespace FusedNets.Data;

/// <summary>
/// Reads numeric comma-separated files, plain or gzip-compressed (recognized by the gzip magic bytes), into a
/// <see cref="Dataset"/>. Every row holds the same number of fields; numbers use the invariant culture
/// ("1.5", "-2e-3"); blank lines are skipped; fields are not quoted.
/// </summary>
/// <remarks>
/// A malformed file raises <see cref="InvalidDataException"/> naming the file, the line and the column:
/// a ragged row, a field that is not a finite number, a label that is not a non-negative integer.
/// </remarks>
public static class Csv
{
    private const char Separator = ',';

    /// <summary>The longest stretch of a bad field that an error message quotes.</summary>
    private const int QuotedFieldLength = 40;

    /// <summary>
    /// Reads a classification set: one column holds the class label (an integer from 0), the others the features.
    /// </summary>
    /// <param name="path">The file, plain or gzip-compressed.</param>
    /// <param name="labelColumn">The 0-based column of the label; -1 for the last column.</param>
    /// <param name="hasHeader">Whether the first line names the columns (it is skipped).</param>
    /// <param name="featureScale">Every feature is multiplied by this: 1/16f maps pixel counts 0..16 to [0, 1].</param>
    /// <param name="skipRows">Lines skipped at the start, whatever they hold, before the header if any: 1 for scikit-learn's iris.csv, whose first line gives counts and class names.</param>
    public static Dataset ReadClassification(string path, int labelColumn = -1, bool hasHeader = false, float featureScale = 1, int skipRows = 0)
    {
        using FileStream file = OpenFile(path);
        return ReadClassification(file, labelColumn, hasHeader, featureScale, path, skipRows);
    }

    /// <summary>
    /// Reads a classification set from <paramref name="stream"/>'s current position to its end; the stream is
    /// not disposed. <paramref name="name"/> is what error messages call it.
    /// </summary>
    /// <inheritdoc cref="ReadClassification(string, int, bool, float, int)"/>
    public static Dataset ReadClassification(Stream stream, int labelColumn = -1, bool hasHeader = false, float featureScale = 1, string name = "(stream)", int skipRows = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(labelColumn, -1);
        CheckScale(featureScale);
        ArgumentOutOfRangeException.ThrowIfNegative(skipRows);

        var features = new List<float>();
        var labels = new List<int>();
        int label = 0;
        ReadRows(stream, name, skipRows, hasHeader, (fields, line) =>
        {
            if (labels.Count == 0)
            {
                label = labelColumn == -1 ? fields.Length - 1 : labelColumn;
                if (fields.Length < 2)
                {
                    throw LineError(name, line, $"the row has {fields.Length} field, but a row needs at least one feature and a label");
                }

                if (label >= fields.Length)
                {
                    throw LineError(name, line, $"the label is to be in column {label + 1}, but the row has {fields.Length} fields");
                }
            }

            for (int column = 0; column < fields.Length; column++)
            {
                if (column == label)
                {
                    labels.Add(ParseLabel(fields[column], name, line, column));
                }
                else
                {
                    features.Add(ParseNumber(fields[column], name, line, column) * featureScale);
                }
            }
        });

        if (labels.Count == 0)
        {
            throw new InvalidDataException($"{name}: the file holds no data rows.");
        }

        return Dataset.ForClassification(features.ToArray(), labels.ToArray(), features.Count / labels.Count);
    }

    /// <summary>
    /// Reads a regression set: the last <paramref name="targetCount"/> columns are the float targets
    /// (not scaled), the others the features.
    /// </summary>
    /// <param name="path">The file, plain or gzip-compressed.</param>
    /// <param name="targetCount">How many columns, at the end of each row, are targets.</param>
    /// <param name="hasHeader">Whether the first line names the columns (it is skipped).</param>
    /// <param name="featureScale">Every feature is multiplied by this.</param>
    /// <param name="skipRows">Lines skipped at the start, whatever they hold, before the header if any: 2 for a file that opens with a line of counts and a line of names.</param>
    public static Dataset ReadRegression(string path, int targetCount = 1, bool hasHeader = false, float featureScale = 1, int skipRows = 0)
    {
        using FileStream file = OpenFile(path);
        return ReadRegression(file, targetCount, hasHeader, featureScale, path, skipRows);
    }

    /// <summary>
    /// Reads a regression set from <paramref name="stream"/>'s current position to its end; the stream is
    /// not disposed. <paramref name="name"/> is what error messages call it.
    /// </summary>
    /// <inheritdoc cref="ReadRegression(string, int, bool, float, int)"/>
    public static Dataset ReadRegression(Stream stream, int targetCount = 1, bool hasHeader = false, float featureScale = 1, string name = "(stream)", int skipRows = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetCount);
        CheckScale(featureScale);
        ArgumentOutOfRangeException.ThrowIfNegative(skipRows);

        var features = new List<float>();
        var targets = new List<float>();
        int featureCount = 0;
        ReadRows(stream, name, skipRows, hasHeader, (fields, line) =>
        {
            featureCount = fields.Length - targetCount;
            if (featureCount < 1)
            {
                throw LineError(name, line, $"the rows have {fields.Length} fields, but {targetCount} targets and at least one feature need {targetCount + 1}");
            }

            for (int column = 0; column < fields.Length; column++)
            {
                float value = ParseNumber(fields[column], name, line, column);
                if (column < featureCount)
                {
                    features.Add(value * featureScale);
                }
                else
                {
                    targets.Add(value);
                }
            }
        });

        if (targets.Count == 0)
        {
            throw new InvalidDataException($"{name}: the file holds no data rows.");
        }

        return Dataset.ForRegression(features.ToArray(), targets.ToArray(), featureCount, targetCount);
    }

    /// <summary>
    /// Calls <paramref name="onRow"/> with every data row's trimmed fields and 1-based line number, after checking
    /// that the row has as many fields as the first. The first <paramref name="skipRows"/> lines, blank or not, are
    /// passed over unread; line numbers still count them.
    /// </summary>
    private static void ReadRows(Stream stream, string name, int skipRows, bool hasHeader, Action<string[], long> onRow)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Stream input = DataSource.Decompressed(stream, out _);
        try
        {
            using var reader = new StreamReader(input, leaveOpen: true);
            int fieldCount = 0;
            long firstDataLine = 0;
            bool headerPending = hasHeader;
            long line = 0;
            while (DataSource.ReadLine(reader, name, line + 1) is { } text)
            {
                line++;
                if (line <= skipRows || string.IsNullOrWhiteSpace(text))
                {
                    continue;
                }

                if (headerPending)
                {
                    headerPending = false;
                    continue;
                }

                string[] fields = text.Split(Separator);
                if (firstDataLine == 0)
                {
                    fieldCount = fields.Length;
                    firstDataLine = line;
                }
                else if (fields.Length != fieldCount)
                {
                    throw LineError(name, line, $"the row has {fields.Length} fields, but line {firstDataLine} has {fieldCount}");
                }

                for (int i = 0; i < fields.Length; i++)
                {
                    fields[i] = fields[i].Trim();
                }

                onRow(fields, line);
            }
        }
        finally
        {
            // Dispose only what was made here (a decompressor or a copy); the caller owns its stream.
            if (input != stream)
            {
                input.Dispose();
            }
        }
    }

    private static float ParseNumber(string field, string name, long line, int column)
    {
        if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
        {
            throw FieldError(name, line, column, field, "is not a finite number");
        }

        return value;
    }

    /// <summary>A class label: a non-negative integer, also when written as a float ("3.0").</summary>
    private static int ParseLabel(string field, string name, long line, int column)
    {
        if (!double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            || !double.IsInteger(value) || value < 0 || value > int.MaxValue)
        {
            throw FieldError(name, line, column, field, "is not a class label (an integer from 0)");
        }

        return (int)value;
    }

    private static FileStream OpenFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
    }

    private static void CheckScale(float featureScale)
    {
        if (!float.IsFinite(featureScale) || featureScale == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(featureScale), featureScale, "The feature scale must be a finite number other than 0.");
        }
    }

    private static InvalidDataException LineError(string name, long line, string problem) => new($"{name}, line {line}: {problem}.");

    private static InvalidDataException FieldError(string name, long line, int column, string field, string problem)
    {
        string quoted = field.Length <= QuotedFieldLength ? field : field[..QuotedFieldLength] + "…";
        return field.Length == 0
            ? LineError(name, line, $"column {column + 1} is empty")
            : LineError(name, line, $"column {column + 1}, \"{quoted}\", {problem}");
    }
}
