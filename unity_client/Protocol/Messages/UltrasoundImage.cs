namespace Sonoguide.Protocol.Messages
{
    /// <summary>The grey-scale ultrasound image of an overlay (the <c>(h, w) |u1</c> array named by the body field <c>image</c>).</summary>
    public sealed class UltrasoundImage
    {
        /// <summary>Width in pixels (columns).</summary>
        public int Width { get; }

        /// <summary>Height in pixels (rows).</summary>
        public int Height { get; }

        /// <summary>Row-major pixels, row 0 at the top of the image (skin side).</summary>
        public byte[] Pixels { get; }

        internal UltrasoundImage(int width, int height, byte[] pixels)
        {
            Width = width;
            Height = height;
            Pixels = pixels;
        }

        /// <summary>The pixel at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
        public byte this[int x, int y]
        {
            get { return Pixels[y * Width + x]; }
        }
    }
}
