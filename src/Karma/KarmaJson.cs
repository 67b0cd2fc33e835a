using System.Text.Json;
using System.Text.Json.Serialization;

namespace Karma;

/// <summary>
/// The one JSON convention of every file and line Karma writes (run specs, checkpoints, logs, metrics, reports):
/// camelCase keys, enums by name, and NaN/∞ allowed, because a metric can legitimately be undefined.
/// </summary>
public static class KarmaJson
{
    /// <summary>Indented, for files people open.</summary>
    public static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>One record per line, for JSONL logs.</summary>
    public static readonly JsonSerializerOptions Line = new(Indented) { WriteIndented = false };

    /// <summary>
    /// The records of a JSONL file, one per non-empty line; a line that does not parse (the last one, cut short by a
    /// killed process) is skipped. A missing file has none.
    /// </summary>
    public static IReadOnlyList<T> ReadLines<T>(string path)
    {
        var records = new List<T>();
        if (!File.Exists(path)) return records;
        foreach (var line in File.ReadLines(path).Where(l => l.Length > 0))
        {
            try { records.Add(JsonSerializer.Deserialize<T>(line, Line)!); }
            catch (JsonException) { }
        }
        return records;
    }
}
