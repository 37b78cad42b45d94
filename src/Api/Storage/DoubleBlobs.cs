using System.Runtime.InteropServices;

namespace FitService.Api.Storage;

/// <summary>Arrays of doubles as compact little-endian byte blobs (8 bytes a value, NaN and ∞ kept).</summary>
public static class DoubleBlobs
{
    static DoubleBlobs()
    {
        // Blobs are the machine's own layout; every supported .NET target is little-endian.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("FitService stores doubles little-endian.");
    }

    public static byte[] ToBytes(ReadOnlySpan<double> values) => MemoryMarshal.AsBytes(values).ToArray();

    public static double[] FromBytes(ReadOnlySpan<byte> bytes) => MemoryMarshal.Cast<byte, double>(bytes).ToArray();
}
