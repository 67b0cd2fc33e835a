namespace Karma.Data;

/// <summary>A built-in sensor band table: its name, the source it follows, and named subsets that benchmark files keep.</summary>
/// <param name="Name">Name as given to <c>--sensor</c>.</param>
/// <param name="Title">The instrument, in words.</param>
/// <param name="Reference">Where the centres and widths come from.</param>
/// <param name="Bands">Every band of the instrument, in the order its products store them.</param>
/// <param name="Subsets">Band subsets known by their count: (name, 1-based band indices kept).</param>
public sealed record SensorTable(string Name, string Title, string Reference, SpectralBands Bands, IReadOnlyList<(string Name, int[] Kept)> Subsets);

/// <summary>
/// Band tables of common imaging spectrometers, for scenes whose files carry no wavelengths (most MATLAB benchmark
/// files). Two are measured tables (EnMAP from a product's metadata, AVIRIS-classic from a scene's calibration); the
/// others are the instruments' nominal specifications: spectrometers sampled evenly over their published ranges with
/// their published widths, which is within a few nanometres of any one flight's calibration. docs/sensors.md lists
/// each source. Where a calibration file of the actual scene exists, give it with <c>--wavelengths FILE</c> instead.
/// </summary>
public static class SensorTables
{
    static readonly double[] EnmapCentres =
    [
        418.240, 423.874, 429.294, 434.528, 439.603, 444.549, 449.391, 454.159, 458.884, 463.584, 468.265, 472.934, 477.599, 482.265,
        486.941, 491.633, 496.349, 501.094, 505.870, 510.678, 515.519, 520.397, 525.313, 530.268, 535.265, 540.305, 545.391, 550.525,
        555.710, 560.947, 566.239, 571.587, 576.995, 582.464, 587.997, 593.596, 599.267, 605.011, 610.833, 616.737, 622.732, 628.797,
        634.919, 641.100, 647.341, 653.643, 660.007, 666.435, 672.927, 679.485, 686.110, 692.804, 699.567, 706.401, 713.307, 720.282,
        727.324, 734.431, 741.601, 748.833, 756.124, 763.472, 770.876, 778.333, 785.843, 793.402, 801.010, 808.665, 816.367, 824.112,
        831.901, 839.731, 847.601, 855.509, 863.455, 871.433, 879.442, 887.478, 895.537, 903.617, 911.715, 919.827, 927.951, 936.082,
        944.217, 952.355, 960.495, 968.638, 976.783, 984.932, 993.083, 902.257, 911.872, 921.624, 931.512, 941.530, 951.677, 961.948,
        972.341, 982.851, 993.475, 1004.210, 1015.050, 1026.000, 1037.050, 1048.190, 1059.420, 1070.740, 1082.140, 1093.620, 1105.170, 1116.790,
        1128.470, 1140.200, 1151.980, 1163.810, 1175.670, 1187.560, 1199.480, 1211.420, 1223.370, 1235.340, 1247.310, 1259.300, 1271.290, 1283.290,
        1295.280, 1307.270, 1319.250, 1331.220, 1343.180, 1355.130, 1367.060, 1378.960, 1390.840, 1461.460, 1473.100, 1484.690, 1496.240, 1507.750,
        1519.220, 1530.640, 1542.020, 1553.360, 1564.650, 1575.900, 1587.100, 1598.260, 1609.360, 1620.430, 1631.440, 1642.410, 1653.330, 1664.200,
        1675.030, 1685.800, 1696.530, 1707.200, 1717.830, 1728.400, 1738.930, 1749.400, 1759.830, 1939.440, 1948.980, 1958.490, 1967.950, 1977.370,
        1986.740, 1996.070, 2005.360, 2014.610, 2023.820, 2032.990, 2042.110, 2051.190, 2060.240, 2069.240, 2078.210, 2087.130, 2096.010, 2104.860,
        2113.670, 2122.440, 2131.170, 2139.870, 2148.520, 2157.150, 2165.730, 2174.280, 2182.790, 2191.270, 2199.710, 2208.120, 2216.500, 2224.840,
        2233.140, 2241.420, 2249.660, 2257.860, 2266.040, 2274.180, 2282.290, 2290.370, 2298.420, 2306.440, 2314.420, 2322.370, 2330.290, 2338.190,
        2346.050, 2353.880, 2361.680, 2369.450, 2377.190, 2384.900, 2392.580, 2400.230, 2407.850, 2415.450, 2423.010, 2430.550, 2438.050, 2445.530,
    ];

    static readonly double[] EnmapFwhm =
    [
        6.996, 6.668, 6.424, 6.251, 6.135, 6.061, 6.015, 5.983, 5.952, 5.920, 5.888, 5.858, 5.832, 5.813,
        5.803, 5.802, 5.814, 5.838, 5.871, 5.912, 5.960, 6.012, 6.067, 6.123, 6.179, 6.236, 6.294, 6.352,
        6.410, 6.468, 6.527, 6.585, 6.643, 6.702, 6.761, 6.821, 6.884, 6.950, 7.020, 7.095, 7.175, 7.255,
        7.331, 7.405, 7.477, 7.548, 7.617, 7.687, 7.756, 7.827, 7.899, 7.972, 8.049, 8.128, 8.210, 8.294,
        8.380, 8.466, 8.552, 8.637, 8.721, 8.803, 8.882, 8.958, 9.030, 9.101, 9.169, 9.236, 9.304, 9.371,
        9.440, 9.511, 9.584, 9.660, 9.740, 9.822, 9.906, 9.991, 10.077, 10.164, 10.251, 10.337, 10.422, 10.505,
        10.586, 10.659, 10.716, 10.750, 10.753, 10.718, 10.637, 9.177, 9.319, 9.454, 9.584, 9.708, 9.828, 9.943,
        10.055, 10.164, 10.270, 10.374, 10.477, 10.578, 10.675, 10.769, 10.858, 10.941, 11.016, 11.084, 11.144, 11.196,
        11.241, 11.281, 11.314, 11.342, 11.366, 11.385, 11.401, 11.414, 11.423, 11.429, 11.432, 11.433, 11.431, 11.425,
        11.418, 11.407, 11.395, 11.380, 11.362, 11.343, 11.322, 11.298, 11.273, 11.088, 11.052, 11.015, 10.977, 10.938,
        10.898, 10.858, 10.816, 10.774, 10.731, 10.687, 10.643, 10.598, 10.553, 10.508, 10.463, 10.417, 10.371, 10.325,
        10.279, 10.233, 10.188, 10.143, 10.097, 10.053, 10.008, 9.964, 9.919, 9.166, 9.126, 9.086, 9.047, 9.008,
        8.969, 8.930, 8.891, 8.853, 8.815, 8.777, 8.739, 8.701, 8.664, 8.626, 8.589, 8.552, 8.516, 8.479,
        8.443, 8.407, 8.372, 8.336, 8.301, 8.267, 8.232, 8.198, 8.164, 8.131, 8.098, 8.065, 8.033, 8.001,
        7.969, 7.938, 7.907, 7.877, 7.847, 7.817, 7.788, 7.759, 7.730, 7.701, 7.672, 7.643, 7.615, 7.586,
        7.557, 7.528, 7.499, 7.470, 7.441, 7.411, 7.381, 7.350, 7.320, 7.288, 7.257, 7.224, 7.192, 7.158,
    ];

    static readonly double[] AvirisCentres =
    [
        365.91, 375.58, 385.25, 394.92, 404.60, 414.28, 423.96, 433.65, 443.35, 453.05, 462.75, 472.46, 482.17, 491.89,
        501.61, 511.34, 521.07, 530.80, 540.54, 550.28, 560.03, 569.78, 579.54, 589.30, 599.07, 608.84, 618.61, 628.39,
        638.17, 647.96, 657.75, 667.54, 655.48, 665.28, 675.08, 684.88, 694.67, 704.46, 714.24, 724.02, 733.79, 743.55,
        753.31, 763.07, 772.82, 782.56, 792.30, 802.04, 811.76, 821.49, 831.21, 840.92, 850.63, 860.33, 870.03, 879.72,
        889.41, 899.09, 908.77, 918.44, 928.10, 937.77, 947.42, 957.07, 966.72, 976.36, 985.99, 995.62, 1005.25, 1014.86,
        1024.48, 1034.09, 1043.69, 1053.29, 1062.88, 1072.47, 1082.06, 1091.63, 1101.21, 1110.77, 1120.34, 1129.89, 1139.44, 1148.99,
        1158.53, 1168.07, 1177.60, 1187.13, 1196.65, 1206.16, 1215.67, 1225.18, 1234.68, 1244.17, 1253.66, 1263.14, 1253.35, 1263.33,
        1273.30, 1283.27, 1293.24, 1303.21, 1313.19, 1323.16, 1333.13, 1343.10, 1353.07, 1363.04, 1373.01, 1382.98, 1392.95, 1402.92,
        1412.89, 1422.86, 1432.83, 1442.79, 1452.76, 1462.73, 1472.70, 1482.66, 1492.63, 1502.60, 1512.57, 1522.53, 1532.50, 1542.46,
        1552.43, 1562.40, 1572.36, 1582.33, 1592.29, 1602.26, 1612.22, 1622.18, 1632.15, 1642.11, 1652.07, 1662.04, 1672.00, 1681.96,
        1691.93, 1701.89, 1711.85, 1721.81, 1731.77, 1741.73, 1751.69, 1761.66, 1771.62, 1781.58, 1791.54, 1801.50, 1811.45, 1821.41,
        1831.37, 1841.33, 1851.29, 1861.25, 1871.21, 1872.36, 1866.84, 1876.91, 1886.96, 1897.02, 1907.08, 1917.13, 1927.18, 1937.23,
        1947.27, 1957.31, 1967.36, 1977.39, 1987.43, 1997.46, 2007.50, 2017.52, 2027.55, 2037.58, 2047.60, 2057.62, 2067.64, 2077.65,
        2087.66, 2097.68, 2107.68, 2117.69, 2127.69, 2137.70, 2147.69, 2157.69, 2167.69, 2177.68, 2187.67, 2197.66, 2207.64, 2217.63,
        2227.61, 2237.58, 2247.56, 2257.53, 2267.51, 2277.48, 2287.44, 2297.41, 2307.37, 2317.33, 2327.29, 2337.24, 2347.20, 2357.15,
        2367.09, 2377.04, 2386.99, 2396.93, 2406.87, 2416.80, 2426.74, 2436.67, 2446.60, 2456.53, 2466.45, 2476.38, 2486.30, 2496.22,
    ];

    /// <summary>Every table, by name.</summary>
    public static IReadOnlyList<SensorTable> All { get; } =
    [
        new("enmap", "EnMAP HSI (DLR), VNIR 420–1000 nm + SWIR 900–2450 nm, 224 bands",
            "band centres and FWHM of the METADATA.XML of EnMAP L2A product ENMAP01-____L2A-DT0000001867 (2022-07-24, processor 01.03.02)",
            new SpectralBands(EnmapCentres, EnmapFwhm, "sensor table enmap"), []),
        new("aviris-classic", "AVIRIS (NASA JPL), four spectrometers, 224 bands, ~10 nm",
            "band centres of a 224-band AVIRIS scene's calibration (the wavelengths variable of aviris_224_with_wavelengths.mat); FWHM from band spacing, ~9.7 nm",
            new SpectralBands(AvirisCentres, null, "sensor table aviris-classic"),
            [("salinas-204", Keep(224, (108, 112), (154, 167), (224, 224)))]),
        new("aviris-ng", "AVIRIS-NG (NASA JPL), 425 bands, 5 nm", "nominal: 376.9–2500.6 nm evenly in 425 bands, FWHM 5.5 nm (JPL AVIRIS-NG instrument page)",
            Even("aviris-ng", 5.5, (376.86, 2500.6, 425)), []),
        new("prisma", "PRISMA (ASI), VNIR 66 + SWIR 173 bands", "nominal: VNIR 402–1010 nm in 66 bands, SWIR 920–2497 nm in 173 bands, FWHM 12 nm (ASI PRISMA product specification)",
            Even("prisma", 12, (402, 1010, 66), (920, 2497, 173)), []),
        new("desis", "DESIS (DLR/Teledyne) on the ISS, 235 bands, 2.55 nm", "nominal: 401.9–999.2 nm evenly in 235 bands, FWHM 3.5 nm (DLR DESIS instrument description)",
            Even("desis", 3.5, (401.9, 999.2, 235)), []),
        new("hymap", "HyMap (HyVista), four modules, 126 bands", "nominal: VIS 450–890 nm (32 bands, 15 nm), NIR 895–1350 nm (32, 15 nm), SWIR1 1400–1800 nm (32, 13 nm), SWIR2 1950–2480 nm (30, 17 nm) (HyVista HyMap specification)",
            Even("hymap", [15, 15, 13, 17], (450, 890, 32), (895, 1350, 32), (1400, 1800, 32), (1950, 2480, 30)), []),
        new("hyperion", "Hyperion (EO-1), VNIR 70 + SWIR 172 bands", "nominal: VNIR 355.59 + 10.175·i nm (70 bands), SWIR 851.92 + 10.09·i nm (172 bands), FWHM 11 nm (USGS EO-1 Hyperion user guide)",
            Even("hyperion", 11, (355.59, 355.59 + 69 * 10.175, 70), (851.92, 851.92 + 171 * 10.09, 172)), []),
        new("rosis-03", "ROSIS-03 (DLR), 115 bands, 430–860 nm", "nominal: 430–860 nm evenly in 115 bands, FWHM 4 nm (DLR ROSIS description)",
            Even("rosis-03", 4, (430, 860, 115)),
            // Pavia University/Centre keep 103/102 of the 115 channels; which were removed is not published, so the
            // literature's convention — the kept channels spread evenly over 430–860 nm — is what "matched" means here.
            [("pavia-103", EvenIndices(115, 103))]),
        new("casi-1500", "CASI-1500 (ITRES), 288 bands, 380–1050 nm", "nominal: 380–1050 nm evenly in 288 bands, FWHM 3 nm (ITRES CASI-1500 specification)",
            Even("casi-1500", 3, (380, 1050, 288)), []),
        new("hydice", "HYDICE (US Naval Research Laboratory), 210 bands, 400–2500 nm", "nominal: 400–2500 nm evenly in 210 bands, FWHM 10 nm (HYDICE instrument description)",
            Even("hydice", 10, (400, 2500, 210)), []),
        new("samson", "SAMSON (Florida Environmental Research Institute), 156 bands, 401–889 nm", "nominal: 401–889 nm evenly in 156 bands (the Samson unmixing benchmark's description), FWHM from spacing",
            new SpectralBands(Linspace(401, 889, 156), null, "sensor table samson"), []),
    ];

    /// <summary>The table named <paramref name="name"/> (case-insensitive), or null.</summary>
    public static SensorTable? Find(string name) => All.FirstOrDefault(t => t.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The bands of <paramref name="table"/> for a file with <paramref name="count"/> bands: the whole table when the
    /// counts agree, the subset of that size when the table names one, the 1-based <paramref name="indices"/> when given
    /// (e.g. "1-107,113-153"); otherwise an error listing what would work.
    /// </summary>
    public static SpectralBands For(SensorTable table, int count, string? indices, string scenePath)
    {
        if (indices is not null)
        {
            var kept = ParseIndices(indices, table.Bands.Count, scenePath);
            if (kept.Length != count)
                throw new BandMismatchException(scenePath, $"has {count} bands but the indices [{indices}] pick {kept.Length} of {table.Name}'s {table.Bands.Count}.");
            return table.Bands.Select(kept.Select(i => i - 1).ToArray()) with { Source = $"sensor table {table.Name}, bands [{indices}]" };
        }
        if (count == table.Bands.Count) return table.Bands;
        foreach (var (name, kept) in table.Subsets)
            if (kept.Length == count)
                return table.Bands.Select(kept.Select(i => i - 1).ToArray()) with { Source = $"sensor table {table.Name}, subset {name} (assumed from the band count alone; name the kept bands as {table.Name}[FIRST-LAST,...] if this file kept others)" };
        throw new BandMismatchException(scenePath,
            $"has {count} bands but {table.Name} has {table.Bands.Count}" +
            (table.Subsets.Count > 0 ? $" (known subsets: {string.Join(", ", table.Subsets.Select(s => $"{s.Name} = {s.Kept.Length}"))})" : "") +
            $". Name the bands the file kept as {table.Name}[FIRST-LAST,...] (1-based), or give a wavelength file.") { Settings = ["Wavelengths", "Sensor"] };
    }

    /// <summary>1-based band indices from "1-107,113-153,168"; each must lie in 1..<paramref name="total"/> and increase.</summary>
    public static int[] ParseIndices(string text, int total, string context)
    {
        var result = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-', StringSplitOptions.TrimEntries);
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, out _)))
                throw new BandMismatchException(context, $"band indices take FIRST-LAST or single numbers separated by commas (got '{part}').");
            int first = int.Parse(ends[0]), last = int.Parse(ends[^1]);
            if (first < 1 || last > total || last < first)
                throw new BandMismatchException(context, $"band range '{part}' is not within 1–{total}.");
            for (int i = first; i <= last; i++)
            {
                if (result.Count > 0 && i <= result[^1]) throw new BandMismatchException(context, $"band indices must increase (at '{part}').");
                result.Add(i);
            }
        }
        if (result.Count == 0) throw new BandMismatchException(context, "no band indices were given.");
        return result.ToArray();
    }

    static int[] Keep(int total, params (int From, int To)[] dropped) =>
        Enumerable.Range(1, total).Where(i => !dropped.Any(d => i >= d.From && i <= d.To)).ToArray();

    static int[] EvenIndices(int total, int count) =>
        Enumerable.Range(0, count).Select(i => 1 + (int)Math.Round(i * (total - 1) / (double)(count - 1))).ToArray();

    static double[] Linspace(double from, double to, int count) =>
        Enumerable.Range(0, count).Select(i => from + (to - from) * i / (count - 1)).ToArray();

    static SpectralBands Even(string name, double fwhm, params (double From, double To, int Count)[] spectrometers) =>
        Even(name, spectrometers.Select(_ => fwhm).ToArray(), spectrometers);

    static SpectralBands Even(string name, double[] fwhm, params (double From, double To, int Count)[] spectrometers)
    {
        var centres = spectrometers.SelectMany(s => Linspace(s.From, s.To, s.Count)).ToArray();
        var widths = spectrometers.SelectMany((s, k) => Enumerable.Repeat(fwhm[k], s.Count)).ToArray();
        return new SpectralBands(centres, widths, $"sensor table {name}");
    }
}
