using System;

namespace Sonoguide.Protocol.Wire
{
    /// <summary>
    /// Converts between little-endian wire bytes and typed arrays on any host
    /// (PROTOCOL.md, "Message framing": raw little-endian C-order bytes).
    /// </summary>
    /// <remarks>
    /// Every current Unity target (x64, ARM64) is little-endian, where this is one block copy; on a
    /// big-endian host each element's bytes are reversed first.
    /// </remarks>
    public static class LittleEndian
    {
        /// <summary>Copy <paramref name="bytes"/> into a new array of <paramref name="count"/> elements of <paramref name="itemSize"/> bytes.</summary>
        public static T[] ToArray<T>(byte[] bytes, int count, int itemSize) where T : struct
        {
            if ((long)count * itemSize != bytes.Length)
            {
                throw new ArgumentException("byte length does not match the element count");
            }
            var result = new T[count];
            if (BitConverter.IsLittleEndian || itemSize == 1)
            {
                Buffer.BlockCopy(bytes, 0, result, 0, bytes.Length);
            }
            else
            {
                var swapped = Swap(bytes, itemSize);
                Buffer.BlockCopy(swapped, 0, result, 0, swapped.Length);
            }
            return result;
        }

        /// <summary>The little-endian bytes of a primitive array.</summary>
        public static byte[] ToBytes<T>(T[] values, int itemSize) where T : struct
        {
            var bytes = new byte[values.Length * itemSize];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            if (!BitConverter.IsLittleEndian && itemSize > 1)
            {
                bytes = Swap(bytes, itemSize);
            }
            return bytes;
        }

        private static byte[] Swap(byte[] bytes, int itemSize)
        {
            var copy = new byte[bytes.Length];
            for (int i = 0; i < bytes.Length; i += itemSize)
            {
                for (int k = 0; k < itemSize; k++)
                {
                    copy[i + k] = bytes[i + itemSize - 1 - k];
                }
            }
            return copy;
        }
    }
}
