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
}
