using System.CommandLine;
using Karma.Reporting;

namespace Karma.Cli.Commands;

/// <summary><c>karma report</c>: one self-contained HTML page about a run (and optionally a comparison).</summary>
static class ReportCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Run folder from karma pretrain.", Required = true };
        var compare = new Option<string?>("--compare") { Description = "Folder from karma compare (or karma demo) to include its table and charts." };
        var output = new Option<string>("--out") { Description = "HTML file to write.", DefaultValueFactory = _ => "report.html" };
        var command = new Command("report", "Write a self-contained HTML report of a run: configuration, curves, metrics, reconstructions, endmembers, warnings.")
            { run, compare, output };
        KarmaCli.SetRun(command, parse =>
        {
            KarmaCli.CheckOutput(parse.GetValue(output)!, Path.Combine(parse.GetValue(run)!, "checkpoint"));
            RunReport.Write(parse.GetValue(run)!, parse.GetValue(output)!, parse.GetValue(compare));
            Console.Out.WriteLine($"report: {Path.GetFullPath(parse.GetValue(output)!)}");
            return 0;
        });
        return command;
    }
}
