using System;
using System.Globalization;

namespace Sonoguide.Protocol.Wire
{
    /// <summary>
    /// One binary frame of a message with the header's description of it
    /// (PROTOCOL.md, "Message framing": <c>arrays</c> holds <c>{"name", "dtype", "shape"}</c> per frame, in order).
    /// </summary>
    /// <remarks>
    /// The raw bytes are kept; typed views are made on request (<see cref="ToFloat32"/>, ...), checking the dtype,
    /// so a field can never be read as the wrong type by accident.
    /// </remarks>
    public sealed class WireArray
    {
        /// <summary>The array's name, referenced from body fields (e.g. <c>contour_7</c>).</summary>
        public string Name { get; }

        /// <summary>The dtype string exactly as sent (e.g. <c>|u1</c>).</summary>
        public string DtypeText { get; }

        /// <summary>The parsed element type.</summary>
        public ArrayDtype Dtype { get; }

        /// <summary>The shape (C order); empty for a scalar.</summary>
        public int[] Shape { get; }

        /// <summary>The raw little-endian bytes.</summary>
        public byte[] Data { get; }

        /// <summary>Number of elements (product of the shape).</summary>
        public int Count { get; }

        /// <summary>Create an array, checking that the byte length matches shape and dtype.</summary>
        /// <exception cref="ProtocolException">unknown dtype, negative dimension or wrong byte length.</exception>
        public WireArray(string name, string dtypeText, int[] shape, byte[] data)
        {
            if (name == null) throw new ArgumentNullException("name");
            if (shape == null) throw new ArgumentNullException("shape");
            if (data == null) throw new ArgumentNullException("data");
            ArrayDtype dtype;
            if (!ArrayDtypes.TryParse(dtypeText, out dtype))
            {
                throw new ProtocolException("array '" + name + "' dtype '" + dtypeText + "' not allowed; allowed: " + string.Join(", ", ArrayDtypes.Allowed));
            }
            long count = 1;
            foreach (int dim in shape)
            {
                if (dim < 0)
                {
                    throw new ProtocolException("array '" + name + "' has a negative dimension in shape " + ShapeText(shape));
                }
                count *= dim;
                if (count > int.MaxValue)
                {
                    throw new ProtocolException("array '" + name + "' shape " + ShapeText(shape) + " is too large");
                }
            }
            long expected = count * ArrayDtypes.ItemSize(dtype);
            if (data.Length != expected)
            {
                throw new ProtocolException("array '" + name + "' has " + data.Length.ToString(CultureInfo.InvariantCulture) + " bytes, shape "
                                            + ShapeText(shape) + " " + dtypeText + " needs " + expected.ToString(CultureInfo.InvariantCulture));
            }
            Name = name;
            DtypeText = dtypeText;
            Dtype = dtype;
            Shape = (int[])shape.Clone();
            Data = data;
            Count = (int)count;
        }

        /// <summary>An array from typed values; the dtype follows the element type.</summary>
        public static WireArray FromInt16(string name, short[] values, params int[] shape)
        {
            return new WireArray(name, "<i2", ShapeOr(shape, values.Length), LittleEndian.ToBytes(values, 2));
        }

        /// <summary>An array of <c>&lt;f4</c> values.</summary>
        public static WireArray FromFloat32(string name, float[] values, params int[] shape)
        {
            return new WireArray(name, "<f4", ShapeOr(shape, values.Length), LittleEndian.ToBytes(values, 4));
        }

        /// <summary>An array of <c>&lt;f8</c> values.</summary>
        public static WireArray FromFloat64(string name, double[] values, params int[] shape)
        {
            return new WireArray(name, "<f8", ShapeOr(shape, values.Length), LittleEndian.ToBytes(values, 8));
        }

        /// <summary>An array of <c>|u1</c> values.</summary>
        public static WireArray FromUInt8(string name, byte[] values, params int[] shape)
        {
            return new WireArray(name, "|u1", ShapeOr(shape, values.Length), (byte[])values.Clone());
        }

        /// <summary>The shape as Python prints a tuple, e.g. <c>(4, 2)</c>.</summary>
        public string ShapeString
        {
            get { return ShapeText(Shape); }
        }

        /// <summary>The elements as <c>float</c>; the dtype must be <c>&lt;f4</c>.</summary>
        public float[] ToFloat32()
        {
            Require(ArrayDtype.Float32);
            return LittleEndian.ToArray<float>(Data, Count, 4);
        }

        /// <summary>The elements as <c>double</c>; the dtype must be <c>&lt;f8</c>.</summary>
        public double[] ToFloat64()
        {
            Require(ArrayDtype.Float64);
            return LittleEndian.ToArray<double>(Data, Count, 8);
        }

        /// <summary>The elements as <c>int</c>; the dtype must be <c>&lt;i4</c>.</summary>
        public int[] ToInt32()
        {
            Require(ArrayDtype.Int32);
            return LittleEndian.ToArray<int>(Data, Count, 4);
        }

        /// <summary>The elements as <c>short</c>; the dtype must be <c>&lt;i2</c>.</summary>
        public short[] ToInt16()
        {
            Require(ArrayDtype.Int16);
            return LittleEndian.ToArray<short>(Data, Count, 2);
        }

        /// <summary>The elements as <c>ushort</c>; the dtype must be <c>&lt;u2</c>.</summary>
        public ushort[] ToUInt16()
        {
            Require(ArrayDtype.UInt16);
            return LittleEndian.ToArray<ushort>(Data, Count, 2);
        }

        /// <summary>The elements as bytes; the dtype must be <c>&lt;u1</c> or <c>|u1</c>.</summary>
        public byte[] ToUInt8()
        {
            Require(ArrayDtype.UInt8);
            return (byte[])Data.Clone();
        }

        /// <summary>Every element converted exactly to <c>double</c>, whatever the dtype (for checks and generic use).</summary>
        public double[] ToDoubles()
        {
            var result = new double[Count];
            switch (Dtype)
            {
                case ArrayDtype.Float32: { var a = ToFloat32(); for (int i = 0; i < a.Length; i++) result[i] = a[i]; break; }
                case ArrayDtype.Float64: return ToFloat64();
                case ArrayDtype.Int32: { var a = ToInt32(); for (int i = 0; i < a.Length; i++) result[i] = a[i]; break; }
                case ArrayDtype.Int16: { var a = ToInt16(); for (int i = 0; i < a.Length; i++) result[i] = a[i]; break; }
                case ArrayDtype.UInt16: { var a = ToUInt16(); for (int i = 0; i < a.Length; i++) result[i] = a[i]; break; }
                case ArrayDtype.UInt8: { for (int i = 0; i < Data.Length; i++) result[i] = Data[i]; break; }
            }
            return result;
        }

        /// <summary>Check the shape, e.g. <c>RequireShape(4, 4)</c>; -1 accepts any length in that axis.</summary>
        /// <exception cref="ProtocolException">the shape differs.</exception>
        public void RequireShape(params int[] expected)
        {
            bool ok = Shape.Length == expected.Length;
            for (int i = 0; ok && i < expected.Length; i++)
            {
                ok = expected[i] < 0 || expected[i] == Shape[i];
            }
            if (!ok)
            {
                var parts = new string[expected.Length];
                for (int i = 0; i < expected.Length; i++) parts[i] = expected[i] < 0 ? "N" : expected[i].ToString(CultureInfo.InvariantCulture);
                throw new ProtocolException("array '" + Name + "' has shape " + ShapeString + ", expected (" + string.Join(", ", parts) + ")");
            }
        }

        private void Require(ArrayDtype wanted)
        {
            if (Dtype != wanted)
            {
                throw new ProtocolException("array '" + Name + "' is " + DtypeText + ", expected " + ArrayDtypes.ToText(wanted));
            }
        }

        private static int[] ShapeOr(int[] shape, int length)
        {
            return shape == null || shape.Length == 0 ? new[] { length } : shape;
        }

        internal static string ShapeText(int[] shape)
        {
            var parts = new string[shape.Length];
            for (int i = 0; i < shape.Length; i++) parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
            return shape.Length == 1 ? "(" + parts[0] + ",)" : "(" + string.Join(", ", parts) + ")";
        }
    }
}
