namespace Karma;

// The kinds of KarmaException a caller may want to tell apart. Each takes the base's constructors: a message, or a
// file path and a message (the path is prefixed, and kept in Path). Settings names the settings a fix would change.

/// <summary>A scene, label map, spectral library, truth or band file that is missing, damaged, or in a form Karma does not read (or cannot write).</summary>
public class SceneFileException : KarmaException
{
    /// <inheritdoc cref="KarmaException(string, Exception?)"/>
    public SceneFileException(string message, Exception? inner = null) : base(message, inner) { }
    /// <inheritdoc cref="KarmaException(string, string, Exception?)"/>
    public SceneFileException(string path, string message, Exception? inner = null) : base(path, message, inner) { }
}

/// <summary>
/// Bands that do not fit: a scene's against a fixed-band model, a resampling target outside the scene's range, scenes
/// of different band sets mixed where one is needed, or no wavelengths where they are needed.
/// </summary>
public class BandMismatchException : KarmaException
{
    /// <inheritdoc cref="KarmaException(string, Exception?)"/>
    public BandMismatchException(string message, Exception? inner = null) : base(message, inner) { }
    /// <inheritdoc cref="KarmaException(string, string, Exception?)"/>
    public BandMismatchException(string path, string message, Exception? inner = null) : base(path, message, inner) { }
}

/// <summary>A run or checkpoint folder that is missing, damaged, in use by another process, or already holds a run.</summary>
public class RunFolderException : KarmaException
{
    /// <inheritdoc cref="KarmaException(string, Exception?)"/>
    public RunFolderException(string message, Exception? inner = null) : base(message, inner) { }
    /// <inheritdoc cref="KarmaException(string, string, Exception?)"/>
    public RunFolderException(string path, string message, Exception? inner = null) : base(path, message, inner) { }
}

/// <summary>A setting whose value is out of range, unknown, or contradicts another (see <see cref="KarmaException.Settings"/>).</summary>
public class InvalidSettingException : KarmaException
{
    /// <inheritdoc cref="KarmaException(string, Exception?)"/>
    public InvalidSettingException(string message, Exception? inner = null) : base(message, inner) { }
    /// <inheritdoc cref="KarmaException(string, string, Exception?)"/>
    public InvalidSettingException(string path, string message, Exception? inner = null) : base(path, message, inner) { }
}
