using System;
using System.Collections.Generic;
using System.Globalization;
using NUnit.Framework;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>Helpers that read values out of an <c>*.expected.json</c> file and compare decoded data with them.</summary>
    public static class ExpectedValues
    {
        /// <summary>An integer member.</summary>
        public static long Long(JsonObject o, string key)
        {
            long v;
            Assert.IsTrue(((JsonNumber)o[key]).TryGetInt64(out v), key + " is not an integer in the expectation");
            return v;
        }

        /// <summary>A number member.</summary>
        public static double Double(JsonValue v)
        {
            return ((JsonNumber)v).AsDouble();
        }

        /// <summary>A number member, or null.</summary>
        public static double? NullableDouble(JsonValue v)
        {
            return v == null || v.IsNull ? (double?)null : ((JsonNumber)v).AsDouble();
        }

        /// <summary>A string member, or null.</summary>
        public static string NullableString(JsonValue v)
        {
            return v == null || v.IsNull ? null : ((JsonString)v).Value;
        }

        /// <summary>Flatten nested lists of numbers in C order.</summary>
        public static List<double> Flatten(JsonValue v)
        {
            var result = new List<double>();
            FlattenInto(v, result);
            return result;
        }

        private static void FlattenInto(JsonValue v, List<double> into)
        {
            var arr = v as JsonArray;
            if (arr == null)
            {
                into.Add(((JsonNumber)v).AsDouble());
                return;
            }
            foreach (var item in arr.Items)
            {
                FlattenInto(item, into);
            }
        }

        /// <summary>The expected shape of array <paramref name="name"/>.</summary>
        public static int[] Shape(JsonObject arraySpec)
        {
            var list = (JsonArray)arraySpec["shape"];
            var shape = new int[list.Count];
            for (int i = 0; i < shape.Length; i++) shape[i] = (int)((JsonNumber)list[i]).AsDouble();
            return shape;
        }

        /// <summary>Assert that <paramref name="actual"/> holds exactly the expected values (bit-exact, no tolerance).</summary>
        public static void AssertExactly(IList<double> expected, IList<double> actual, string what)
        {
            Assert.AreEqual(expected.Count, actual.Count, what + ": element count");
            for (int i = 0; i < expected.Count; i++)
            {
                if (!expected[i].Equals(actual[i]))
                {
                    Assert.Fail(string.Format(CultureInfo.InvariantCulture, "{0}[{1}]: expected {2:R}, decoded {3:R}", what, i, expected[i], actual[i]));
                }
            }
        }

        /// <summary>Float values widened to double.</summary>
        public static List<double> Widen(float[] values)
        {
            var result = new List<double>(values.Length);
            foreach (var f in values) result.Add(f);
            return result;
        }

        /// <summary>Assert the array decoded from the wire equals the expectation in dtype, shape and every value.</summary>
        public static void AssertArray(JsonObject spec, WireArray actual)
        {
            Assert.AreEqual(((JsonString)spec["dtype"]).Value, actual.DtypeText, actual.Name + " dtype");
            CollectionAssert.AreEqual(Shape(spec), actual.Shape, actual.Name + " shape");
            AssertExactly(Flatten(spec["values"]), actual.ToDoubles(), actual.Name);
        }
    }
}
