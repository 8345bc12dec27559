using System.Collections.Generic;
using System.IO;

namespace Sonoguide.Protocol.Wire
{
    /// <summary>
    /// The golden-file container: each frame as a little-endian <c>u32</c> length followed by its bytes
    /// (PROTOCOL.md, "Golden files"; <c>pack_frames</c> in <c>sonoguide/golden.py</c>).
    /// </summary>
    public static class FramePacking
    {
        /// <summary>Split a packed buffer into frames.</summary>
        /// <exception cref="ProtocolException">a length prefix or a frame is cut short.</exception>
        public static List<byte[]> Unpack(byte[] packed)
        {
            var frames = new List<byte[]>();
            int pos = 0;
            while (pos < packed.Length)
            {
                if (pos + 4 > packed.Length)
                {
                    throw new ProtocolException("packed frames end inside a length prefix at byte " + pos);
                }
                uint n = (uint)(packed[pos] | packed[pos + 1] << 8 | packed[pos + 2] << 16 | packed[pos + 3] << 24);
                pos += 4;
                if (n > (uint)(packed.Length - pos))
                {
                    throw new ProtocolException("frame " + frames.Count + " claims " + n + " bytes but only " + (packed.Length - pos) + " remain");
                }
                var frame = new byte[n];
                System.Buffer.BlockCopy(packed, pos, frame, 0, (int)n);
                frames.Add(frame);
                pos += (int)n;
            }
            return frames;
        }

        /// <summary>Pack frames (inverse of <see cref="Unpack"/>).</summary>
        public static byte[] Pack(IList<byte[]> frames)
        {
            using (var ms = new MemoryStream())
            {
                foreach (var f in frames)
                {
                    uint n = (uint)f.Length;
                    ms.WriteByte((byte)n);
                    ms.WriteByte((byte)(n >> 8));
                    ms.WriteByte((byte)(n >> 16));
                    ms.WriteByte((byte)(n >> 24));
                    ms.Write(f, 0, f.Length);
                }
                return ms.ToArray();
            }
        }
    }
}
