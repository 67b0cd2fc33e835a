namespace Karma;

/// <summary>
/// Writes that never leave a half-written result under the real name: content goes to a temporary path
/// beside the target and is renamed into place, which POSIX file systems do atomically. A write the file system
/// refuses (disk full, read-only, permissions) removes the temporary file and says so in one line naming the target.
/// </summary>
public static class AtomicFiles
{
    /// <summary>Writes <paramref name="write"/>'s output to <paramref name="path"/> via a temporary file.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string temp = path + $".tmp-{Environment.ProcessId}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e)
        {
            File.Delete(temp);
            if (e is IOException or UnauthorizedAccessException) throw NotWritten(path, e);
            throw;
        }
    }

    /// <summary>The error for a write the file system refused: the target, the reason, and that what was there is unchanged.</summary>
    public static KarmaException NotWritten(string path, Exception e) =>
        new(path, $"could not be written ({KarmaException.Quote(e.Message)}); any earlier file of that name is unchanged. Free space or choose another place.", e);

    /// <summary>Writes text atomically.</summary>
    public static void WriteText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    /// <summary>
    /// Moves the finished folder <paramref name="source"/> to <paramref name="target"/>. An existing target is
    /// first renamed aside and deleted only after the new folder is in place, so one of the two is always complete.
    /// </summary>
    public static void ReplaceDirectory(string source, string target)
    {
        string? old = null;
        if (Directory.Exists(target))
        {
            old = target + $".old-{Environment.ProcessId}";
            if (Directory.Exists(old)) Directory.Delete(old, true);
            Directory.Move(target, old);
        }
        Directory.Move(source, target);
        if (old is not null) Directory.Delete(old, true);
    }
}
