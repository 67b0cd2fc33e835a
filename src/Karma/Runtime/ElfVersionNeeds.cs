using System.Buffers.Binary;
using System.Text;

namespace Karma.Runtime;

/// <summary>
/// Reads and edits the version-needed table (<c>.gnu.version_r</c>) of a 64-bit little-endian ELF shared
/// library. Karma uses it for one job: TorchSharp's <c>libLibTorchSharp.so</c> declares that it needs
/// <c>GLIBCXX_3.4.32</c>, which Debian 12's libstdc++ lacks, although the only symbol under that version is
/// never relocated. Marking the entry weak (<c>VER_FLG_WEAK</c>) tells the dynamic loader a missing
/// version is not fatal, so the library loads on a stock system without touching system files.
/// </summary>
public static class ElfVersionNeeds
{
    /// <summary>The <c>vna_flags</c> bit that makes a needed version optional.</summary>
    public const ushort WeakFlag = 0x2;

    const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>One needed version: the library it is needed from, its name, its flags and where the flags are.</summary>
    public readonly record struct Entry(string File, string Version, ushort Flags, long FlagsOffset)
    {
        /// <summary>True when the loader tolerates this version being absent.</summary>
        public bool IsWeak => (Flags & WeakFlag) != 0;
    }

    /// <summary>Lists every needed version in the ELF image <paramref name="elf"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a 64-bit little-endian ELF file with a well-formed table.</exception>
    public static IReadOnlyList<Entry> Read(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        if (shentsize < 64 || shoff <= 0 || shoff + (long)shnum * shentsize > elf.Length)
            throw new InvalidDataException("section header table lies outside the file");

        var entries = new List<Entry>();
        for (int s = 0; s < shnum; s++)
        {
            var sh = elf.Slice(checked((int)(shoff + (long)s * shentsize)), shentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;

            long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]);
            long size = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x20..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]);
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x2C..]);
            if (offset < 0 || offset + size > elf.Length || link >= shnum)
                throw new InvalidDataException(".gnu.version_r lies outside the file");
            var strtab = elf.Slice(checked((int)(shoff + (long)link * shentsize)), shentsize);
            long strOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(strtab[0x18..]);
            long strSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(strtab[0x20..]);
            if (strOffset < 0 || strOffset + strSize > elf.Length)
                throw new InvalidDataException("string table lies outside the file");
            var strings = elf.Slice((int)strOffset, (int)strSize);

            long need = offset;
            for (int n = 0; n < count; n++)
            {
                if (need + 16 > offset + size) throw new InvalidDataException("truncated version-needed entry");
                var vn = elf.Slice((int)need, 16);
                int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(vn[2..]);
                string file = CString(strings, BinaryPrimitives.ReadUInt32LittleEndian(vn[4..]));
                long aux = need + BinaryPrimitives.ReadUInt32LittleEndian(vn[8..]);
                for (int a = 0; a < auxCount; a++)
                {
                    if (aux + 16 > offset + size) throw new InvalidDataException("truncated version-needed aux entry");
                    var vna = elf.Slice((int)aux, 16);
                    entries.Add(new Entry(file,
                        CString(strings, BinaryPrimitives.ReadUInt32LittleEndian(vna[8..])),
                        BinaryPrimitives.ReadUInt16LittleEndian(vna[4..]),
                        aux + 4));
                    aux += BinaryPrimitives.ReadUInt32LittleEndian(vna[12..]);
                }
                need += BinaryPrimitives.ReadUInt32LittleEndian(vn[12..]);
            }
        }
        return entries;
    }

    /// <summary>
    /// Sets the weak flag on every needed version named <paramref name="version"/>. Returns how many entries
    /// changed: 0 when they were already weak (or absent), so applying it twice is harmless.
    /// </summary>
    public static int MarkWeak(Span<byte> elf, string version)
    {
        int changed = 0;
        foreach (var e in Read(elf))
        {
            if (e.Version != version || e.IsWeak) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(elf[(int)e.FlagsOffset..], (ushort)(e.Flags | WeakFlag));
            changed++;
        }
        return changed;
    }

    static string CString(ReadOnlySpan<byte> strings, uint index)
    {
        if (index >= strings.Length) throw new InvalidDataException("string index outside the string table");
        var rest = strings[(int)index..];
        int end = rest.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
    }
}
