using System.Globalization;
using System.Text;

namespace Karma.Data;

/// <summary>
/// An ENVI header (<c>.hdr</c>) as key → value text, parsed per the ENVI spec: first line <c>ENVI</c>,
/// <c>key = value</c> lines, case-insensitive keys, <c>{...}</c> values that may span lines, and
/// <c>;</c> comment lines. Typed accessors convert and explain bad values, naming the header file.
/// </summary>
public sealed class EnviHeader
{
    readonly Dictionary<string, string> values = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The header file.</summary>
    public string Path { get; }

    EnviHeader(string path) => Path = path;

    /// <summary>Parses the header at <paramref name="path"/>.</summary>
    public static EnviHeader Read(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw new SceneFileException(path, $"cannot be read: {e.Message}", e); }
        return Parse(text, path);
    }

    /// <summary>Parses header text; <paramref name="path"/> is used in error messages.</summary>
    public static EnviHeader Parse(string text, string path)
    {
        var header = new EnviHeader(path);
        using var reader = new StringReader(text);
        string? first = reader.ReadLine();
        if (first is null || !first.Trim().Equals("ENVI", StringComparison.OrdinalIgnoreCase))
            throw new SceneFileException(path, "is not an ENVI header: its first line must be 'ENVI'.");
        int lineNumber = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith(';')) continue;
            int eq = trimmed.IndexOf('=');
            if (eq <= 0) throw new SceneFileException(path, $"line {lineNumber} is not 'key = value': '{KarmaException.Quote(trimmed)}'.");
            string key = string.Join(' ', trimmed[..eq].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            string value = trimmed[(eq + 1)..].Trim();
            if (value.StartsWith('{'))
            {
                var sb = new StringBuilder(value);
                while (!sb.ToString().Contains('}'))
                {
                    string? more = reader.ReadLine();
                    lineNumber++;
                    if (more is null) throw new SceneFileException(path, $"the value of '{key}' opens a brace that is never closed.");
                    sb.Append('\n').Append(more.Trim());
                }
                string whole = sb.ToString();
                value = whole[1..whole.LastIndexOf('}')].Trim();
            }
            header.values[key] = value; // ENVI keeps the last of duplicate keys
        }
        return header;
    }

    /// <summary>The raw value of <paramref name="key"/>, or null.</summary>
    public string? this[string key] => values.TryGetValue(key, out var v) ? v : null;

    /// <summary>An integer field; throws when it is required and missing, or not an integer.</summary>
    public int? Int(string key, bool required = false)
    {
        string? v = this[key];
        if (v is null)
            return required ? throw new SceneFileException(Path, $"has no '{key}' field, which ENVI requires.") : null;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
            throw new SceneFileException(Path, $"field '{key}' must be an integer, not '{KarmaException.Quote(v)}'.");
        return n;
    }

    /// <summary>A floating-point field, or null.</summary>
    public double? Double(string key)
    {
        string? v = this[key];
        if (v is null) return null;
        return ParseDouble(v, key);
    }

    /// <summary>A brace list of numbers, or null; throws when its length is not <paramref name="expected"/>.</summary>
    public double[]? Doubles(string key, int expected)
    {
        var items = List(key);
        if (items is null) return null;
        if (items.Length != expected)
            throw new SceneFileException(Path, $"field '{key}' lists {items.Length} values but the file has {expected} bands.");
        return items.Select(s => ParseDouble(s, key)).ToArray();
    }

    /// <summary>A brace list split on commas, items trimmed, or null.</summary>
    public string[]? List(string key) =>
        this[key]?.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToArray();

    double ParseDouble(string s, string key) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            ? d : throw new SceneFileException(Path, $"field '{key}' holds '{KarmaException.Quote(s)}', which is not a number.");

    /// <summary>Formats a header from ordered key/value pairs (values that need braces get them).</summary>
    public static string Format(IEnumerable<(string Key, string Value)> fields)
    {
        var sb = new StringBuilder("ENVI\n");
        foreach (var (k, v) in fields) sb.Append(k).Append(" = ").Append(v).Append('\n');
        return sb.ToString();
    }
}
