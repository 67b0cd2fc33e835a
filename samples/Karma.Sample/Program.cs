// Karma from C#: load a scene and the shipped default model, embed every pixel and unmix the scene.
// Usage: dotnet run --project samples/Karma.Sample [-- SCENE]   (SCENE may carry @SPEC, e.g. scene.mat@aviris-classic)
using Karma.Api;
using Karma.Data;

string scene = args.Length > 0 ? args[0]
    : new SceneSimulator { Size = 64, Bands = 120, Seed = 1 }.Generate().WriteTo(Path.Combine(Path.GetTempPath(), "karma-sample"));
using var model = PretrainedModel.Load();                      // the default model; PretrainedModel.Load("run-folder") for your own
var cube = model.Read(scene);                                  // bands, scale and description as the model reads them
float[,] features = model.Embed(cube);                         // [pixels, 128] encoder features
var unmixing = model.Unmix(cube);                              // endmembers at the scene's bands, abundances, error
Console.WriteLine($"{scene}: {cube.Rows}×{cube.Cols} pixels, {cube.Bands} bands ({cube.Spectral})");
Console.WriteLine($"features: {features.GetLength(0)} × {features.GetLength(1)}; first pixel starts {features[0, 0]:F3}, {features[0, 1]:F3}");
Console.WriteLine($"unmixing: {unmixing.Count} endmembers, mean error {unmixing.Error.Where(float.IsFinite).Average():F4} (reflectance RMSE)");
