using System.CommandLine;
using System.Text.Json;
using Karma.Model;
using Karma.Training;

namespace Karma.Cli.Commands;

/// <summary><c>karma pretrain</c>: masked-autoencoder pretraining on scenes (or a simulated one) into a run folder, resumable.</summary>
static class PretrainCommand
{
    public static Command Create()
    {
        var run = new RunOptions();
        var modelName = new Option<string>("--model") { Description = "karma, mae, huber+sam or huber+lsmm.", DefaultValueFactory = _ => "karma" };
        var output = new Option<string>("--out") { Description = "Run folder (checkpoint, logs, metrics)." };
        var resume = new Option<string>("--resume") { Description = "Continue the run in this folder from its last checkpoint (other options are taken from its run.json)." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace a run already in --out." };
        var command = new Command("pretrain", "Pretrain a KARMA (or plain MAE) model on scenes; writes a resumable checkpoint, JSONL logs and held-out metrics.")
            { modelName, output, resume, overwrite };
        run.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            RunResult result;
            if (parse.GetValue(resume) is { } dir)
            {
                var spec = TrainingRun.ReadSpec(dir);
                result = Execute($"{spec.Config.Variant}".ToLowerInvariant(), spec.Training.Steps, onStep => TrainingRun.Resume(dir, onStep, KarmaCli.Interrupted));
            }
            else
            {
                string outDir = parse.GetValue(output) ?? throw new KarmaException("Give --out RUN_DIR for a new run, or --resume RUN_DIR to continue one.");
                var spec = run.Spec(parse, KarmaConfig.ParseVariant(parse.GetValue(modelName)!));
                result = Execute(parse.GetValue(modelName)!, spec.Training.Steps, onStep => TrainingRun.Start(spec, outDir, onStep, parse.GetValue(overwrite), KarmaCli.Interrupted));
            }
            // Every rank of a data-parallel job holds the same result; one printed copy is the job's answer.
            if (Karma.Runtime.Communicator.Current.Rank == 0) Console.Out.WriteLine(JsonSerializer.Serialize(result, KarmaCli.Json));
            return 0;
        });
        return command;
    }

    /// <summary>Runs training under a progress display and prints its warnings to standard error.</summary>
    public static RunResult Execute(string label, int steps, Func<Action<StepRecord>, RunResult> train)
    {
        var result = TrainingProgress.Run(label, steps, train);
        foreach (var warning in result.Warnings) Console.Error.WriteLine($"karma: warning: {warning}");
        return result;
    }
}
