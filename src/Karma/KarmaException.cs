namespace Karma;

/// <summary>
/// The one exception type Karma throws for problems a user can fix: a malformed file, a shape or band
/// mismatch, a missing native library. The message says what went wrong and what to do; <see cref="Path"/>
/// names the file involved when there is one, so a CLI can report it without parsing the message.
/// </summary>
public sealed class KarmaException : Exception
{
    /// <summary>Creates an error about no particular file.</summary>
    public KarmaException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>Creates an error about <paramref name="path"/>; the path is prefixed to the message.</summary>
    public KarmaException(string path, string message, Exception? inner = null)
        : base($"{path}: {message}", inner) => Path = path;

    /// <summary>The file the error is about, or null.</summary>
    public string? Path { get; }
}
