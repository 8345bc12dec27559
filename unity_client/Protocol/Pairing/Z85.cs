using System;
using System.Text;

namespace Sonoguide.Protocol.Pairing
{
    /// <summary>
    /// Z85, the ZeroMQ base-85 encoding of binary keys (ZeroMQ RFC 32/Z85): every 4 bytes become 5 printable characters,
    /// big-endian. CurveZMQ keys are 32 bytes, written as 40 characters.
    /// </summary>
    public static class Z85
    {
        private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
        private static readonly int[] Values = BuildValues();

        private static int[] BuildValues()
        {
            var values = new int[128];
            for (int i = 0; i < values.Length; i++) values[i] = -1;
            for (int i = 0; i < Alphabet.Length; i++) values[Alphabet[i]] = i;
            return values;
        }

        /// <summary>Decode Z85 text; its length must be a multiple of 5.</summary>
        /// <exception cref="FormatException">wrong length, a character outside the alphabet, or a group above 2^32 − 1.</exception>
        public static byte[] Decode(string text)
        {
            if (text == null)
            {
                throw new ArgumentNullException("text");
            }
            if (text.Length % 5 != 0)
            {
                throw new FormatException("Z85 text length must be a multiple of 5, got " + text.Length);
            }
            var bytes = new byte[text.Length / 5 * 4];
            for (int group = 0; group < text.Length / 5; group++)
            {
                ulong value = 0;
                for (int k = 0; k < 5; k++)
                {
                    char c = text[group * 5 + k];
                    int v = c < 128 ? Values[c] : -1;
                    if (v < 0)
                    {
                        throw new FormatException("character '" + c + "' at " + (group * 5 + k) + " is not Z85");
                    }
                    value = value * 85 + (ulong)v;
                }
                if (value > uint.MaxValue)
                {
                    throw new FormatException("Z85 group " + group + " exceeds 32 bits");
                }
                bytes[group * 4] = (byte)(value >> 24);
                bytes[group * 4 + 1] = (byte)(value >> 16);
                bytes[group * 4 + 2] = (byte)(value >> 8);
                bytes[group * 4 + 3] = (byte)value;
            }
            return bytes;
        }

        /// <summary>Encode bytes; the length must be a multiple of 4.</summary>
        public static string Encode(byte[] data)
        {
            if (data == null)
            {
                throw new ArgumentNullException("data");
            }
            if (data.Length % 4 != 0)
            {
                throw new ArgumentException("Z85 encodes multiples of 4 bytes, got " + data.Length, "data");
            }
            var sb = new StringBuilder(data.Length / 4 * 5);
            var chunk = new char[5];
            for (int i = 0; i < data.Length; i += 4)
            {
                uint value = (uint)(data[i] << 24 | data[i + 1] << 16 | data[i + 2] << 8 | data[i + 3]);
                for (int k = 4; k >= 0; k--)
                {
                    chunk[k] = Alphabet[(int)(value % 85)];
                    value /= 85;
                }
                sb.Append(chunk);
            }
            return sb.ToString();
        }
    }
}
