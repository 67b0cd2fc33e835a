using System.CommandLine;
using Karma.Data;

namespace Karma.Cli;

/// <summary>
/// The options that describe scenes' bands where their files do not: <c>--wavelengths FILE|START:END[:FWHM]</c> and
/// <c>--sensor NAME[INDICES]</c>. They apply to every scene of the command whose file holds no wavelengths (a scene's own
/// <c>@SPEC</c> suffix takes precedence), by attaching the description to its path, so run.json records what was assumed.
/// </summary>
sealed class BandOptions
{
    public readonly Option<string?> Wavelengths = new("--wavelengths")
    {
        Description = "Band centres for scenes whose files have none: a file (one centre in nm per line, optional FWHM column) or START:END[:FWHM] (evenly spaced).",
    };
    public readonly Option<string?> Sensor = new("--sensor")
    {
        Description = $"Built-in band table for scenes whose files have none: {BandDescription.Sensors}; NAME[1-107,113-153] names the 1-based bands a file kept.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Wavelengths);
        command.Options.Add(Sensor);
    }

    /// <summary>The band description the options give, or null.</summary>
    public string? Spec(ParseResult parse)
    {
        string? wavelengths = parse.GetValue(Wavelengths), sensor = parse.GetValue(Sensor);
        if (wavelengths is not null && sensor is not null) throw new KarmaException("Give either --wavelengths or --sensor, not both.");
        if (sensor is not null && SensorTables.Find(sensor.Split('[')[0]) is null)
            throw new KarmaException($"--sensor {sensor}: unknown sensor; choose one of {BandDescription.Sensors}.");
        return wavelengths ?? sensor;
    }

    /// <summary><paramref name="paths"/> with the options' description attached to each scene that has no wavelengths of its own.</summary>
    public string[] Apply(ParseResult parse, IEnumerable<string> paths)
    {
        string? spec = Spec(parse);
        return paths.Select(p => spec is null ? p : Describe(p, spec)).ToArray();
    }

    /// <summary><paramref name="path"/> with <paramref name="spec"/> attached when the scene has neither its own @SPEC nor wavelengths in its file.</summary>
    public static string Describe(string path, string spec)
    {
        if (BandDescription.Split(path).Spec is not null) return path;
        using var scene = HyperspectralScene.Open(path);
        return scene.Metadata.Wavelengths is null ? BandDescription.Attach(path, spec) : path;
    }
}
