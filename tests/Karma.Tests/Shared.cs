namespace Karma.Tests;

/// <summary>Locates <c>../shared</c> (real data and reference values beside the checkout); tests skip when it is absent.</summary>
static class Shared
{
    static readonly string? Root = FindRoot();

    static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Karma.sln")))
            {
                string shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
                return Directory.Exists(shared) ? shared : null;
            }
        return null;
    }

    /// <summary>The repository root: the first folder above the test binaries holding Karma.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Karma.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (Karma.sln) was not found above the test binaries");
    }

    /// <summary>The path of <paramref name="relative"/> under shared/, skipping the test when it does not exist.</summary>
    public static string Require(string relative)
    {
        string? path = Root is null ? null : Path.Combine(Root, relative);
        Assert.SkipWhen(path is null || !(File.Exists(path) || Directory.Exists(path)),
            $"../shared/{relative} is not available beside this checkout; this test needs the shared data.");
        return path!;
    }
}
