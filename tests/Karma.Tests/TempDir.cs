namespace Karma.Tests;

/// <summary>A fresh temporary folder, deleted with everything in it on dispose.</summary>
sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "karma-tests-" + Guid.NewGuid().ToString("N")[..12]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes a simulated scene into this folder and opens it.</summary>
    public Karma.Data.HyperspectralScene Simulate(int size, int bands, int seed, int endmembers = 5) =>
        Karma.Data.HyperspectralScene.Open(new Karma.Data.SceneSimulator { Size = size, Bands = bands, Seed = seed, Endmembers = endmembers }.Generate().WriteTo(Path));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
