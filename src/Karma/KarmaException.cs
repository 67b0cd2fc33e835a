namespace Karma;

/// <summary>
/// What Karma throws for problems a user can fix. The message says what went wrong and what to do, in terms of
/// settings, not command-line flags; <see cref="Path"/> names the file involved and <see cref="Settings"/> the settings
/// a fix would change, so a CLI or a service can report them its own way. Subclasses tell the common kinds apart:
/// <see cref="SceneFileException"/>, <see cref="BandMismatchException"/>, <see cref="RunFolderException"/> and
/// <see cref="InvalidSettingException"/>; the base type itself covers the rest (a missing native library, training
/// that diverged, data with nothing to score).
/// </summary>
public class KarmaException : Exception
{
    /// <summary>Creates an error about no particular file.</summary>
    public KarmaException(string message, Exception? inner = null) : base(OneLine(message), inner) { }

    /// <summary>Creates an error about <paramref name="path"/>; the path is prefixed to the message.</summary>
    public KarmaException(string path, string message, Exception? inner = null)
        : base(OneLine($"{path}: {message}"), inner) => Path = path;

    /// <summary>Every message is one line of printable text, at most 2000 characters, whatever it quotes.</summary>
    static string OneLine(string message)
    {
        var clean = new string(message.Select(c => c is '\n' or '\r' or '\t' ? ' ' : char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length <= 2000 ? clean : clean[..2000] + "…";
    }

    /// <summary>The file the error is about, or null.</summary>
    public string? Path { get; }

    /// <summary>
    /// Names of the settings (as in <c>KarmaConfig</c>, <c>TrainingOptions</c> and the run options, e.g. "TileSize",
    /// "Endmembers") whose change would fix the problem; empty when none would.
    /// </summary>
    public IReadOnlyList<string> Settings { get; init; } = [];

    /// <summary>
    /// Text from elsewhere (another library's message, a value read from a file) made fit to quote in a one-line message:
    /// its first line, control characters and non-printable bytes replaced by '?', at most <paramref name="limit"/> characters.
    /// </summary>
    public static string Quote(string? text, int limit = 160)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var line = text.Split('\n', 2)[0].TrimEnd('\r');
        var clean = new string(line.Select(c => char.IsControl(c) || c == '\uFFFD' ? '?' : c).ToArray());
        return clean.Length <= limit ? clean : clean[..limit] + "…";
    }
}
