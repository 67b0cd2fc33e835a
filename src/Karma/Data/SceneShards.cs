namespace Karma.Data;

/// <summary>
/// A deterministic, disjoint share of a list of scenes for one task of an array job (Slurm job arrays, Kubernetes
/// Indexed Jobs, or by hand): the scenes in path order, every N-th starting at the I-th. Together the N shares cover every
/// scene exactly once, whatever N.
/// </summary>
public readonly record struct SceneShards(int Index, int Count)
{
    /// <summary>The whole list (shard 0 of 1).</summary>
    public static SceneShards All => new(0, 1);

    /// <summary>
    /// The shard from <c>I/N</c> (0-based I), or, when <paramref name="text"/> is null, from the environment: Slurm's
    /// <c>SLURM_ARRAY_TASK_ID</c> with <c>SLURM_ARRAY_TASK_COUNT</c> (its minimum subtracted), or Kubernetes'
    /// <c>JOB_COMPLETION_INDEX</c> with <c>KARMA_SHARD_COUNT</c>; otherwise the whole list.
    /// </summary>
    public static SceneShards Parse(string? text)
    {
        if (text is not null)
        {
            var parts = text.Split('/');
            if (parts.Length != 2 || !int.TryParse(parts[0], out int i) || !int.TryParse(parts[1], out int n) || n < 1 || i < 0 || i >= n)
                throw new InvalidSettingException($"A shard is I/N with 0 ≤ I < N (got '{KarmaException.Quote(text, 40)}').") { Settings = ["Shard"] };
            return new SceneShards(i, n);
        }
        int? Env(string name) => int.TryParse(Environment.GetEnvironmentVariable(name), out int v) ? v : null;
        if (Env("SLURM_ARRAY_TASK_ID") is int task && Env("SLURM_ARRAY_TASK_COUNT") is int count && count > 0)
            return new SceneShards(task - (Env("SLURM_ARRAY_TASK_MIN") ?? 0), count).Checked("SLURM_ARRAY_TASK_ID");
        if (Env("JOB_COMPLETION_INDEX") is int index && Env("KARMA_SHARD_COUNT") is int total && total > 0)
            return new SceneShards(index, total).Checked("JOB_COMPLETION_INDEX");
        return All;
    }

    SceneShards Checked(string source) => Index >= 0 && Index < Count ? this
        : throw new InvalidSettingException($"{source} gives task {Index} of {Count}; it must lie in 0–{Count - 1}.");

    /// <summary>This shard's scenes: in path order, those at positions Index, Index + Count, …</summary>
    public string[] Select(IEnumerable<string> scenes)
    {
        var (index, count) = (Index, Count);
        return scenes.Distinct().OrderBy(s => s, StringComparer.Ordinal).Where((_, k) => k % count == index).ToArray();
    }

    /// <summary>
    /// A file-name-safe output name for each scene (its file stem, with the .mat variable when named), made unique by a
    /// numeric suffix in path order when two scenes share a stem — the same for every shard.
    /// </summary>
    public static IReadOnlyDictionary<string, string> OutputNames(IEnumerable<string> scenes)
    {
        var ordered = scenes.Distinct().OrderBy(s => s, StringComparer.Ordinal).ToList();
        var names = new Dictionary<string, string>();
        var used = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var scene in ordered)
        {
            var (file, variable) = MatScene.Split(BandDescription.Split(scene).Scene);
            string stem = Path.GetFileNameWithoutExtension(file.TrimEnd('/')) + (variable is null ? "" : "_" + variable);
            stem = new string(stem.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
            int n = used.GetValueOrDefault(stem);
            used[stem] = n + 1;
            names[scene] = n == 0 ? stem : $"{stem}-{n + 1}";
        }
        return names;
    }
}
