using System.Reflection;
using System.Text.RegularExpressions;

namespace Karma.Tests.Architecture;

/// <summary>
/// The library's layers only look down: a namespace may use the ones below it and never one beside or above it, so a
/// newcomer can read Data without Model, Model without Training, and so on. Found by scanning each source file (comments
/// and strings removed) for the public type names of the other namespaces.
/// </summary>
public class LayerTests
{
    /// <summary>Each layer's rank: a namespace may use only namespaces of a lower rank (the root and Runtime are the floor).</summary>
    static readonly Dictionary<string, int> Rank = new()
    {
        ["Karma"] = 0, ["Karma.Runtime"] = 0,
        ["Karma.Data"] = 1,
        ["Karma.Model"] = 2,
        ["Karma.Evaluation"] = 3,
        ["Karma.Unmixing"] = 4, ["Karma.Downstream"] = 4, ["Karma.Anomaly"] = 4,
        ["Karma.Training"] = 5,
        ["Karma.Reporting"] = 6,
        ["Karma.Experiments"] = 7, ["Karma.Api"] = 7,
    };

    static string SourceRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Karma.sln"))) return Path.Combine(dir.FullName, "src", "Karma");
        throw new DirectoryNotFoundException("the repository root (Karma.sln) was not found above the test binaries");
    }

    static string StripCommentsAndStrings(string code) =>
        Regex.Replace(code, @"//[^\n]*|/\*.*?\*/|@""(?:""""|[^""])*""|\$?""(?:\\.|[^""\\\n])*""", " ", RegexOptions.Singleline);

    [Fact]
    public void Namespaces_only_use_the_layers_below_them()
    {
        var assembly = typeof(KarmaException).Assembly;
        var typesByNamespace = assembly.GetExportedTypes()
            .Where(t => t.Namespace is not null && Rank.ContainsKey(t.Namespace) && !t.IsNested)
            .GroupBy(t => t.Namespace!)
            .ToDictionary(g => g.Key, g => g.Select(t => t.Name.Split('`')[0]).ToHashSet());
        Assert.True(typesByNamespace.Count >= 8, "the layer table does not match the assembly's namespaces");
        var unknown = assembly.GetExportedTypes().Select(t => t.Namespace).Distinct().Where(n => n is not null && !Rank.ContainsKey(n)).ToList();
        Assert.True(unknown.Count == 0, $"namespaces without a layer: {string.Join(", ", unknown)}; add them to the table");

        var violations = new List<string>();
        foreach (var file in Directory.EnumerateFiles(SourceRoot(), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            string text = File.ReadAllText(file);
            var ns = Regex.Match(text, @"^namespace\s+([\w.]+);", RegexOptions.Multiline).Groups[1].Value;
            if (!Rank.TryGetValue(ns, out int rank)) continue;
            string code = StripCommentsAndStrings(text);
            foreach (var (other, names) in typesByNamespace)
            {
                if (other == ns || Rank[other] < rank || (Rank[other] == 0 && rank == 0)) continue;
                foreach (var name in names)
                    if (Regex.IsMatch(code, $@"(?<![\w.]){Regex.Escape(name)}\b") || Regex.IsMatch(code, $@"\b{Regex.Escape(other)}\.{Regex.Escape(name)}\b"))
                        violations.Add($"{Path.GetRelativePath(SourceRoot(), file)} ({ns}) uses {other}.{name}");
            }
        }
        Assert.True(violations.Count == 0, "upward or sideways dependencies:\n" + string.Join("\n", violations.Distinct()));
    }

    /// <summary>String literals of the library's code (not its comments).</summary>
    static IEnumerable<(string File, string Literal)> Literals()
    {
        foreach (var file in Directory.EnumerateFiles(SourceRoot(), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            string code = Regex.Replace(File.ReadAllText(file), @"//[^\n]*|/\*.*?\*/", " ", RegexOptions.Singleline);
            foreach (Match m in Regex.Matches(code, @"\$?""(?:\\.|[^""\\\n])*"""))
                yield return (Path.GetRelativePath(SourceRoot(), file), m.Value);
        }
    }

    [Fact]
    public void Library_messages_name_settings_and_the_CLI_maps_each_to_its_flag()
    {
        // The run report writes the command that reproduces a run: the one place the library spells command lines.
        var literals = Literals().ToList();
        Assert.Contains(literals, l => l.File.EndsWith("RunReport.cs", StringComparison.Ordinal) && l.Literal.Contains("--tile-size"));   // the scan sees flags
        var flags = literals.Where(l => !l.File.EndsWith("RunReport.cs", StringComparison.Ordinal) && Regex.IsMatch(l.Literal, @"(?<![\w-])--[a-z]"))
                            .Select(l => $"{l.File}: {l.Literal}").ToList();
        Assert.True(flags.Count == 0, "library messages that name command-line flags:\n" + string.Join("\n", flags));

        var named = Directory.EnumerateFiles(SourceRoot(), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"Settings = \[([^\]]*)\]").SelectMany(m => Regex.Matches(m.Groups[1].Value, @"""(\w+)""").Select(x => x.Groups[1].Value)))
            .Concat(Regex.Matches(File.ReadAllText(Path.Combine(SourceRoot(), "Data", "SpectralResampler.cs")), @"""(Wavelengths|Overlap)""").Select(m => m.Groups[1].Value))
            .ToHashSet();
        Assert.True(named.Count >= 10, $"found only {named.Count} named settings; the scan is broken");
        var unmapped = named.Where(s => !Karma.Cli.KarmaCli.FlagOfSetting.ContainsKey(s)).ToList();
        Assert.True(unmapped.Count == 0, "settings the CLI cannot name a flag for: " + string.Join(", ", unmapped));
        var error = new InvalidSettingException("x.hdr", "is smaller than one tile. Use a smaller tile size.") { Settings = ["TileSize"] };
        Assert.Equal("x.hdr: is smaller than one tile. Use a smaller tile size. (options: --tile-size)", Karma.Cli.KarmaCli.Describe(error));
    }
}
