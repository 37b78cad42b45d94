using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using FitService.Cli.Plotting;

namespace FitService.Cli.Tests;

/// <summary>The PNG fitctl writes is a valid PNG (signature, chunk CRCs, IHDR, zlib data) and shows what the SVG draws.</summary>
public class PngPlotTests
{
    /// <summary>A strict reader of the PNGs we write: checks every chunk's CRC and returns the RGBA pixels.</summary>
    internal static (int Width, int Height, byte[] Rgba) Decode(byte[] png)
    {
        Assert.Equal(PngWriter.Signature, png[..8]);
        var at = 8;
        int width = 0, height = 0;
        using var idat = new MemoryStream();
        var types = new List<string>();
        while (at < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var typeAndData = png.AsSpan(at + 4, 4 + length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.Equal(Crc32Reference(typeAndData), crc);
            var type = Encoding.ASCII.GetString(typeAndData[..4]);
            types.Add(type);
            var data = typeAndData[4..];
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal([8, 6, 0, 0, 0], data[8..].ToArray()); // 8-bit RGBA, deflate, filter method 0, no interlace
            }
            if (type == "IDAT") idat.Write(data);
            at += 12 + length;
        }
        Assert.Equal("IHDR", types[0]);
        Assert.Equal("IEND", types[^1]);
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress)) zlib.CopyTo(inflated);
        var raw = inflated.ToArray();
        Assert.Equal(height * (1 + width * 4), raw.Length);
        var rgba = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            Assert.Equal(0, raw[y * (1 + width * 4)]); // filter None, the only one we write
            Array.Copy(raw, y * (1 + width * 4) + 1, rgba, y * width * 4, width * 4);
        }
        return (width, height, rgba);
    }

    /// <summary>CRC-32 bit by bit (no table), so the test does not share the writer's code.</summary>
    private static uint Crc32Reference(ReadOnlySpan<byte> bytes)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            c ^= b;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        }
        return ~c;
    }

    [Fact]
    public void APngDecodesBackToItsPixels()
    {
        var rgba = new byte[3 * 2 * 4];
        for (var i = 0; i < rgba.Length; i++) rgba[i] = (byte)(i * 11);
        using var file = new MemoryStream();

        PngWriter.Write(file, 3, 2, rgba);

        var (width, height, decoded) = Decode(file.ToArray());
        Assert.Equal((3, 2), (width, height));
        Assert.Equal(rgba, decoded);
    }

    [Fact]
    public void TheRasterDrawsTheCurveInsideTheClipThePointsAndTheDashes()
    {
        const string svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50">
              <defs><clipPath id="plot-clip"><rect x="10" y="10" width="80" height="30"/></clipPath></defs>
              <rect width="100%" height="100%" fill="#ffffff"/>
              <text x="5" y="5">ignored</text>
              <g fill="#1f77b4"><circle cx="20" cy="20" r="3"/></g>
              <path d="M0,25 L100,25" fill="none" stroke="#d62728" stroke-width="2" clip-path="url(#plot-clip)"/>
              <g transform="translate(0,40)"><line x1="10" y1="5" x2="90" y2="5" stroke="#888888" stroke-width="2" stroke-dasharray="10 10"/></g>
            </svg>
            """;

        var picture = SvgRaster.Render(svg, scale: 1);
        var pixels = picture.Pixels.ToArray();
        (byte, byte, byte) At(int x, int y) { var i = (y * picture.Width + x) * 4; return (pixels[i], pixels[i + 1], pixels[i + 2]); }

        Assert.Equal((100, 50), (picture.Width, picture.Height));
        Assert.Equal((0xd6, 0x27, 0x28), At(50, 24));       // on the curve
        Assert.Equal((255, 255, 255), At(5, 24));            // the curve is clipped left of x = 10
        Assert.Equal((0x1f, 0x77, 0xb4), At(20, 20));        // a point
        Assert.Equal((0x88, 0x88, 0x88), At(15, 44));        // a dash (translated down by 40)
        Assert.Equal((255, 255, 255), At(25, 44));           // a gap between dashes
    }
}
