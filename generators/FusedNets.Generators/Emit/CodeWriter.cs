using System;
using System.Linq;
using System.Text;

namespace FusedNets.Generators.Emit;

/// <summary>Builds source text line by line with indentation, so the emitters read like the code they write.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public CodeWriter Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _depth * 4);
        }

        _text.Append(line).Append('\n');
        return this;
    }

    /// <summary>Writes a multi-line block (a raw string literal), each line at the current indentation.</summary>
    public CodeWriter Lines(string block)
    {
        foreach (string line in block.Replace("\r\n", "\n").Split('\n'))
        {
            Line(line);
        }

        return this;
    }

    /// <summary>Opens a brace block and returns a scope that closes it.</summary>
    public IDisposable Block(string header, string close = "}")
    {
        Line(header);
        return Braces(close);
    }

    /// <summary>Opens a brace block below lines already written (a header with constraint clauses) and returns a scope that closes it.</summary>
    public IDisposable Braces(string close = "}")
    {
        Line("{");
        _depth++;
        return new Closer(this, close);
    }

    /// <summary><paramref name="text"/> with every line after the first indented by <paramref name="levels"/> more steps of four spaces.</summary>
    public static string Indent(string text, int levels) =>
        string.Join("\n", text.Split('\n').Select((line, i) => i == 0 || line.Length == 0 ? line : new string(' ', 4 * levels) + line));

    public override string ToString() => _text.ToString();

    private sealed class Closer(CodeWriter writer, string close) : IDisposable
    {
        public void Dispose()
        {
            writer._depth--;
            writer.Line(close);
        }
    }
}
