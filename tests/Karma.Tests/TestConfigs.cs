using Karma.Model;

namespace Karma.Tests;

/// <summary>Model sizes small enough for unit tests; a test changes what it needs with <c>with</c>.</summary>
static class TestConfigs
{
    /// <summary>16×16 tiles of 4×4 patches, one 32-wide block in encoder and decoder, 3 endmembers.</summary>
    public static readonly KarmaConfig Micro = KarmaConfig.Tiny with
    {
        TileSize = 16, PatchSize = 4, EncoderDim = 32, EncoderDepth = 1, EncoderHeads = 4, DecoderDim = 32, DecoderDepth = 1, DecoderHeads = 4, Endmembers = 3,
    };
}
