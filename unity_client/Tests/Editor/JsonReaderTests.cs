using System.Text;
using NUnit.Framework;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Tests
{
    [TestFixture]
    public class JsonReaderTests
    {
        [Test]
        public void ReadsNestedValuesInOrder()
        {
            var v = (JsonObject)JsonReader.Parse(" {\"b\": [1, -2.5e-3, true, false, null, \"x\"], \"a\": {\"c\": {}}, \"d\": []} ");
            CollectionAssert.AreEqual(new[] { "b", "a", "d" }, v.Keys);
            var b = (JsonArray)v["b"];
            Assert.AreEqual(6, b.Count);
            Assert.AreEqual(1.0, ((JsonNumber)b[0]).AsDouble());
            Assert.AreEqual(-0.0025, ((JsonNumber)b[1]).AsDouble());
            Assert.IsTrue(((JsonBool)b[2]).Value);
            Assert.IsFalse(((JsonBool)b[3]).Value);
            Assert.IsTrue(b[4].IsNull);
            Assert.AreEqual("x", ((JsonString)b[5]).Value);
            Assert.AreEqual(0, ((JsonObject)((JsonObject)v["a"])["c"]).Count);
            Assert.AreEqual(0, ((JsonArray)v["d"]).Count);
        }

        [Test]
        public void KeepsEveryDigitOfNanosecondTimestamps()
        {
            var n = (JsonNumber)JsonReader.Parse("1790000000012500001");
            long v;
            Assert.IsTrue(n.TryGetInt64(out v));
            Assert.AreEqual(1790000000012500001L, v);
            Assert.IsTrue(((JsonNumber)JsonReader.Parse("-9223372036854775808")).TryGetInt64(out v));
            Assert.AreEqual(long.MinValue, v);
            Assert.IsFalse(((JsonNumber)JsonReader.Parse("9223372036854775808")).TryGetInt64(out v), "overflow must not wrap");
        }

        [Test]
        public void TellsIntegersFromFloatsLikePython()
        {
            long v;
            Assert.IsTrue(((JsonNumber)JsonReader.Parse("42")).IsIntegerLiteral);
            Assert.IsFalse(((JsonNumber)JsonReader.Parse("42.0")).TryGetInt64(out v));
            Assert.IsFalse(((JsonNumber)JsonReader.Parse("4e1")).TryGetInt64(out v));
            Assert.IsTrue(JsonReader.Parse("1").DeepEquals(JsonReader.Parse("1.0")), "1 == 1.0 as in Python");
            Assert.IsFalse(JsonReader.Parse("1").DeepEquals(JsonReader.Parse("true")), "a bool is not a number");
        }

        [Test]
        public void DecodesEscapesAndSurrogatePairs()
        {
            var s = (JsonString)JsonReader.Parse("\"q\\\"b\\\\s\\/n\\n t\\t u\\u00e9 \\ud83d\\ude00\"");
            Assert.AreEqual("q\"b\\s/n\n t\t u\u00e9 \U0001F600", s.Value);
        }

        [Test]
        public void AcceptsPythonsNonFiniteLiterals()
        {
            Assert.IsTrue(double.IsNaN(((JsonNumber)JsonReader.Parse("NaN")).AsDouble()));
            Assert.AreEqual(double.PositiveInfinity, ((JsonNumber)JsonReader.Parse("Infinity")).AsDouble());
            Assert.AreEqual(double.NegativeInfinity, ((JsonNumber)JsonReader.Parse("-Infinity")).AsDouble());
            Assert.AreEqual(double.PositiveInfinity, ((JsonNumber)JsonReader.Parse("1e400")).AsDouble());
        }

        [Test]
        public void RepeatedKeyKeepsTheLastValue()
        {
            var o = (JsonObject)JsonReader.Parse("{\"a\": 1, \"a\": 2}");
            Assert.AreEqual(1, o.Count);
            Assert.AreEqual(2.0, ((JsonNumber)o["a"]).AsDouble());
        }

        [TestCase("", "expected a value")]
        [TestCase("[1, 2,]", "expected a value")]
        [TestCase("{\"a\": 1,}", "expected a string key")]
        [TestCase("{a: 1}", "expected a string key")]
        [TestCase("[1 2]", "expected ',' or ']'")]
        [TestCase("{\"a\" 1}", "expected ':'")]
        [TestCase("01", "leading zero")]
        [TestCase("-", "digit must follow '-'")]
        [TestCase("1.", "digit must follow '.'")]
        [TestCase("1e+", "digit must follow the exponent")]
        [TestCase("\"abc", "unterminated string")]
        [TestCase("\"a\\x\"", "invalid escape")]
        [TestCase("\"\\u12G4\"", "invalid hex digit")]
        [TestCase("\"tab\there\"", "control character")]
        [TestCase("tru", "invalid literal")]
        [TestCase("{} {}", "extra data")]
        [TestCase("// comment\n{}", "unexpected character")]
        public void RefusesInvalidJsonWithTheReason(string text, string reason)
        {
            var exc = Assert.Throws<JsonParseException>(() => JsonReader.Parse(text));
            StringAssert.Contains(reason, exc.Message);
        }

        [Test]
        public void RefusesExcessiveNesting()
        {
            var sb = new StringBuilder();
            for (int i = 0; i < JsonReader.MaxDepth + 1; i++) sb.Append('[');
            for (int i = 0; i < JsonReader.MaxDepth + 1; i++) sb.Append(']');
            StringAssert.Contains("nesting", Assert.Throws<JsonParseException>(() => JsonReader.Parse(sb.ToString())).Message);
            Assert.DoesNotThrow(() => JsonReader.Parse(sb.ToString(1, sb.Length - 2)));
        }

        [Test]
        public void RefusesInvalidUtf8()
        {
            var bytes = new byte[] { (byte)'"', 0xC3, 0x28, (byte)'"' };
            StringAssert.Contains("UTF-8", Assert.Throws<JsonParseException>(() => JsonReader.Parse(bytes)).Message);
        }

        [Test]
        public void WriterRoundTripsAndEscapesToAscii()
        {
            var o = new JsonObject()
                .Set("id", JsonValue.From("q\"\\\n\u00e9"))
                .Set("n", JsonValue.From(1790000000000000000L))
                .Set("f", JsonValue.From(0.1))
                .Set("list", new JsonArray().Add(JsonValue.From(true)).Add(JsonValue.Null));
            string text = JsonWriter.Write(o);
            Assert.AreEqual("{\"id\":\"q\\\"\\\\\\n\\u00e9\",\"n\":1790000000000000000,\"f\":0.1,\"list\":[true,null]}", text);
            Assert.IsTrue(o.DeepEquals(JsonReader.Parse(text)));
            Assert.Throws<System.ArgumentException>(() => JsonValue.From(double.NaN));
        }
    }
}
