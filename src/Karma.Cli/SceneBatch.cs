using System.CommandLine;
using Karma.Data;

namespace Karma.Cli;

/// <summary>
/// Runs a command over many scenes as one task of an array job: <c>--shard I/N</c> (or Slurm's / Kubernetes' array
/// variables, <see cref="SceneShards.Parse"/>) picks this task's scenes, each scene's output goes to <c>--out DIR</c> under
/// the scene's name, every output is written under a temporary name and renamed when complete, and outputs that already
/// exist are skipped — so a task killed by preemption and started again finishes the job without redoing finished scenes.
/// </summary>
sealed class SceneBatch
{
    public readonly Option<string?> Shard = new("--shard")
    {
        Description = "Process the I-th of N disjoint shares of the scenes (I/N, 0-based); default: SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX with KARMA_SHARD_COUNT, else all.",
    };

    public void AddTo(Command command) => command.Options.Add(Shard);

    /// <summary>Whether the command should run in batch mode: several scenes, or a shard asked for.</summary>
    public bool Active(ParseResult parse, IReadOnlyList<string> scenes) => scenes.Count > 1 || parse.GetValue(Shard) is not null || SceneShards.Parse(null).Count > 1;

    /// <summary>
    /// For each scene of this shard whose <c>DIR/name{suffix}</c> does not exist yet, runs <paramref name="work"/>(scene,
    /// output): for a folder output into a temporary folder that is then renamed into place; for a file output straight to
    /// the final name, which Karma's writers (<see cref="SceneWriter"/>, <see cref="AtomicFiles"/>) fill under a temporary
    /// name and rename. Prints one line per scene; returns the number written.
    /// </summary>
    public int Run(ParseResult parse, IReadOnlyList<string> scenes, string directory, string suffix, bool folder, Action<string, string> work)
    {
        var shard = SceneShards.Parse(parse.GetValue(Shard));
        var names = SceneShards.OutputNames(scenes);
        var mine = shard.Select(scenes);
        Directory.CreateDirectory(directory);
        int done = 0;
        foreach (var scene in mine)
        {
            string target = Path.Combine(directory, names[scene] + suffix);
            if (File.Exists(target) || Directory.Exists(target))
            {
                Console.Error.WriteLine($"karma: {target} exists; skipped (delete it to redo {scene}).");
                continue;
            }
            if (folder)
            {
                string temp = target + $".tmp-{Environment.ProcessId}";
                if (Directory.Exists(temp)) Directory.Delete(temp, true);
                work(scene, temp);
                Directory.Move(temp, target);
            }
            else work(scene, target);
            Console.Out.WriteLine($"{scene} → {target}");
            done++;
        }
        Console.Out.WriteLine($"shard {shard.Index}/{shard.Count}: {mine.Length} of {scenes.Count} scene(s), {done} written, {mine.Length - done} already done");
        return done;
    }

    /// <summary><paramref name="pattern"/> with <c>{scene}</c> replaced by the scene's file (the truth of many scenes, e.g. <c>{scene}:map</c>).</summary>
    public static string ForScene(string pattern, string scene) =>
        pattern.Replace("{scene}", MatScene.Split(BandDescription.Split(scene).Scene).File, StringComparison.Ordinal);
}
