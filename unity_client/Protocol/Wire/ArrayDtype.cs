using System;

namespace Sonoguide.Protocol.Wire
{
    /// <summary>
    /// Element types a binary frame may carry (PROTOCOL.md, "Message framing": <c>dtype</c> is a NumPy
    /// type string: <c>&lt;f4</c>, <c>&lt;f8</c>, <c>&lt;i4</c>, <c>&lt;i2</c>, <c>&lt;u2</c>, <c>&lt;u1</c>, <c>|u1</c>).
    /// </summary>
    public enum ArrayDtype
    {
        /// <summary><c>&lt;f4</c>: little-endian IEEE 754 single</summary>
        Float32,
        /// <summary><c>&lt;f8</c>: little-endian IEEE 754 double</summary>
        Float64,
        /// <summary><c>&lt;i4</c>: little-endian signed 32-bit</summary>
        Int32,
        /// <summary><c>&lt;i2</c>: little-endian signed 16-bit</summary>
        Int16,
        /// <summary><c>&lt;u2</c>: little-endian unsigned 16-bit</summary>
        UInt16,
        /// <summary><c>&lt;u1</c> or <c>|u1</c>: unsigned byte</summary>
        UInt8,
    }

    /// <summary>Parsing and sizes of <see cref="ArrayDtype"/>.</summary>
    public static class ArrayDtypes
    {
        /// <summary>The dtype strings the contract allows, as in <c>ar_bridge/schema.py</c>.</summary>
        public static readonly string[] Allowed = { "<f4", "<f8", "<i4", "<i2", "<u2", "<u1", "|u1" };

        /// <summary>Parse a NumPy type string; false when it is outside the contract.</summary>
        public static bool TryParse(string text, out ArrayDtype dtype)
        {
            switch (text)
            {
                case "<f4": dtype = ArrayDtype.Float32; return true;
                case "<f8": dtype = ArrayDtype.Float64; return true;
                case "<i4": dtype = ArrayDtype.Int32; return true;
                case "<i2": dtype = ArrayDtype.Int16; return true;
                case "<u2": dtype = ArrayDtype.UInt16; return true;
                case "<u1":
                case "|u1": dtype = ArrayDtype.UInt8; return true;
                default: dtype = ArrayDtype.UInt8; return false;
            }
        }

        /// <summary>Bytes per element.</summary>
        public static int ItemSize(ArrayDtype dtype)
        {
            switch (dtype)
            {
                case ArrayDtype.Float64: return 8;
                case ArrayDtype.Float32:
                case ArrayDtype.Int32: return 4;
                case ArrayDtype.Int16:
                case ArrayDtype.UInt16: return 2;
                case ArrayDtype.UInt8: return 1;
                default: throw new ArgumentOutOfRangeException("dtype");
            }
        }

        /// <summary>The canonical NumPy string NumPy itself writes for this type (<c>|u1</c> for bytes).</summary>
        public static string ToText(ArrayDtype dtype)
        {
            switch (dtype)
            {
                case ArrayDtype.Float32: return "<f4";
                case ArrayDtype.Float64: return "<f8";
                case ArrayDtype.Int32: return "<i4";
                case ArrayDtype.Int16: return "<i2";
                case ArrayDtype.UInt16: return "<u2";
                case ArrayDtype.UInt8: return "|u1";
                default: throw new ArgumentOutOfRangeException("dtype");
            }
        }
    }
}
