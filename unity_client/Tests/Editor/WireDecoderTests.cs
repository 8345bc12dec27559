using System.Collections.Generic;
using System.Text;
using NUnit.Framework;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>Malformed messages are refused with a reason naming the part, like <c>decode</c> in <c>ar_bridge/schema.py</c>.</summary>
    [TestFixture]
    public class WireDecoderTests
    {
        private static string Refusal(List<byte[]> frames)
        {
            return Assert.Throws<ProtocolException>(() => WireDecoder.Decode(frames)).Message;
        }

        private static string TypedRefusal(List<byte[]> frames)
        {
            var exc = Assert.Catch<ProtocolException>(() => MessageParser.Parse(frames));
            return exc.Message;
        }

        [Test]
        public void RefusesTooFewFrames()
        {
            StringAssert.Contains("got 1 frame(s)", Refusal(new List<byte[]> { TestMessages.Ascii("overlay") }));
        }

        [Test]
        public void RefusesNonAsciiTopic()
        {
            var frames = GoldenFiles.Frames("heartbeat");
            frames[0] = Encoding.UTF8.GetBytes("h\u00e9artbeat");
            StringAssert.Contains("topic frame is not ASCII", Refusal(frames));
        }

        [Test]
        public void RefusesHeaderThatIsNotJsonOrNotAnObject()
        {
            var frames = GoldenFiles.Frames("heartbeat");
            frames[1] = TestMessages.Ascii("{not json");
            StringAssert.Contains("header is not UTF-8 JSON", Refusal(frames));
            frames[1] = TestMessages.Ascii("[1, 2]");
            StringAssert.Contains("header must be a JSON object", Refusal(frames));
        }

        [Test]
        public void RefusesOversizedHeader()
        {
            var frames = GoldenFiles.Frames("heartbeat");
            frames[1] = new byte[WireDecoder.MaxHeaderBytes + 1];
            StringAssert.Contains("limit 1048576", Refusal(frames));
        }

        [TestCase("seq")]
        [TestCase("t_capture_ns")]
        [TestCase("t_publish_ns")]
        public void RefusesMissingOrNonIntegerHeaderFields(string field)
        {
            StringAssert.Contains("'" + field + "' missing or not int",
                Refusal(TestMessages.WithHeader("heartbeat", h => h.Set(field, JsonValue.From(42.5)))));
            StringAssert.Contains("'" + field + "' missing or not int",
                Refusal(TestMessages.WithHeader("heartbeat", h => h.Set(field, JsonValue.From(true)))));
            StringAssert.Contains("'" + field + "' missing or not int",
                Refusal(TestMessages.WithHeader("heartbeat", h => h.Set(field, JsonValue.From("42")))));
        }

        [TestCase("overlay/1")]
        [TestCase("sonoguide.overlay")]
        public void RefusesMalformedSchema(string schema)
        {
            StringAssert.Contains("is not 'sonoguide.<kind>/<version>'",
                Refusal(TestMessages.WithHeader("overlay", h => h.Set("schema", JsonValue.From(schema)))));
        }

        [Test]
        public void RefusesFrameCountThatDisagreesWithArrays()
        {
            var frames = GoldenFiles.Frames("overlay");
            frames.RemoveAt(frames.Count - 1);
            StringAssert.Contains("arrays but " + (frames.Count - 2) + " binary frames follow", Refusal(frames));
            var extra = GoldenFiles.Frames("heartbeat");
            extra.Add(new byte[4]);
            StringAssert.Contains("header describes 0 arrays but 1 binary frames follow", Refusal(extra));
        }

        [Test]
        public void RefusesWrongByteLength()
        {
            var frames = GoldenFiles.Frames("overlay");
            int i = TestMessages.FrameIndex("overlay", "contour_7");
            var cut = new byte[frames[i].Length - 1];
            System.Array.Copy(frames[i], cut, cut.Length);
            frames[i] = cut;
            StringAssert.Contains("array 'contour_7' has 31 bytes, shape (4, 2) <f4 needs 32", Refusal(frames));
        }

        [Test]
        public void RefusesDtypesOutsideTheContract()
        {
            var frames = TestMessages.WithHeader("overlay", h => TestMessages.Spec(h, "contour_7").Set("dtype", JsonValue.From("<f2")));
            StringAssert.Contains("dtype '<f2' not allowed", Refusal(frames));
            frames = TestMessages.WithHeader("overlay", h => TestMessages.Spec(h, "contour_7").Set("dtype", JsonValue.From(">f4")));
            StringAssert.Contains("dtype '>f4' not allowed", Refusal(frames));
        }

        [Test]
        public void RefusesBadArraySpecs()
        {
            StringAssert.Contains("bad array spec", Refusal(TestMessages.WithHeader("overlay",
                h => TestMessages.Spec(h, "contour_7").Set("shape", JsonValue.From("4x2")))));
            StringAssert.Contains("non-negative integers", Refusal(TestMessages.WithHeader("overlay",
                h => TestMessages.Spec(h, "contour_7").Set("shape", new JsonArray().Add(JsonValue.From(-4L)).Add(JsonValue.From(-2L))))));
            StringAssert.Contains("appears twice", Refusal(TestMessages.WithHeader("overlay",
                h => TestMessages.Spec(h, "contour_8").Set("name", JsonValue.From("contour_7")))));
        }

        [Test]
        public void RefusesBodyThatIsNotAnObject()
        {
            StringAssert.Contains("'body' must be an object",
                Refusal(TestMessages.WithHeader("state", h => h.Set("body", new JsonArray()))));
        }

        [Test]
        public void MissingBodyAndArraysDecodeAsEmpty()
        {
            var frames = TestMessages.WithHeader("heartbeat", h => { });
            var header = (JsonObject)JsonReader.Parse(frames[1]);
            var slim = new JsonObject();
            foreach (var key in new[] { "schema", "seq", "t_capture_ns", "t_publish_ns" }) slim.Set(key, header[key]);
            frames[1] = JsonWriter.WriteUtf8(slim);
            var msg = WireDecoder.Decode(frames);
            Assert.AreEqual(0, msg.Body.Count);
            Assert.AreEqual(0, msg.Arrays.Count);
        }

        [Test]
        public void RefusesUnknownSchemaVersionsClearly()
        {
            var exc = Assert.Throws<UnsupportedSchemaException>(() => MessageParser.Parse(
                TestMessages.WithHeader("overlay", h => h.Set("schema", JsonValue.From("sonoguide.overlay/2")))));
            Assert.AreEqual("sonoguide.overlay/2", exc.Schema);
            StringAssert.Contains("reads sonoguide.overlay/1", exc.Message);
            StringAssert.Contains("update the org.sonoguide.client package", exc.Message);
        }

        [Test]
        public void RefusesSchemaOfAnotherTopicAndUnknownTopics()
        {
            StringAssert.Contains("carries schema 'sonoguide.state/1'", TypedRefusal(
                TestMessages.WithHeader("heartbeat", h => h.Set("schema", JsonValue.From("sonoguide.state/1")))));
            var frames = GoldenFiles.Frames("heartbeat");
            frames[0] = TestMessages.Ascii("weather");
            StringAssert.Contains("topic 'weather' is not one this client knows", TypedRefusal(frames));
        }

        [TestCase("frame_seq", "an integer")]
        [TestCase("valid_until_ns", "an integer")]
        [TestCase("frozen", "true/false")]
        [TestCase("layers", "an object")]
        [TestCase("structures", "a list")]
        [TestCase("pose_validity", "a string")]
        [TestCase("image_size", "a list of 2 numbers")]
        public void RefusesOverlayWithoutARequiredField(string field, string wanted)
        {
            var frames = TestMessages.WithBody("overlay", b => b.Remove(field));
            StringAssert.Contains("overlay body field '" + field + "' missing or not " + wanted, TypedRefusal(frames));
        }

        [Test]
        public void RefusesOverlayWhoseArraysDoNotMatchTheContract()
        {
            // a contour naming an array that was not sent
            StringAssert.Contains("names array 'contour_99' but no such binary frame was sent", TypedRefusal(TestMessages.WithBody("overlay",
                b => ((JsonObject)((JsonArray)b["structures"])[0]).Set("contour", JsonValue.From("contour_99")))));
            // the image array used as a contour: wrong shape and dtype
            StringAssert.Contains("array 'image' has shape (6, 8), expected (N, 2)", TypedRefusal(TestMessages.WithBody("overlay",
                b => ((JsonObject)((JsonArray)b["structures"])[0]).Set("contour", JsonValue.From("image")))));
            // a contour used as the image
            StringAssert.Contains("must be (h, w) |u1", TypedRefusal(TestMessages.WithBody("overlay", b => b.Set("image", JsonValue.From("contour_7")))));
            // a placement matrix that is not affine
            var frames = GoldenFiles.Frames("overlay");
            int i = TestMessages.FrameIndex("overlay", "T_unity_from_image");
            System.Buffer.BlockCopy(System.BitConverter.GetBytes(2.0), 0, frames[i], 15 * 8, 8);
            StringAssert.Contains("not a finite affine transform", TypedRefusal(frames));
        }

        [Test]
        public void IgnoresUnknownFieldsAndTopicsOfTheFuture()
        {
            var frames = TestMessages.WithHeader("overlay", h =>
            {
                h.Set("future_header", JsonValue.From("x"));
                var body = (JsonObject)h["body"];
                body.Set("future_body", new JsonObject().Set("a", JsonValue.From(1L)));
                ((JsonObject)((JsonArray)body["structures"])[0]).Set("texture", JsonValue.From("coarse"));
                ((JsonObject)body["needle"]).Set("gauge", JsonValue.From(22L));
            });
            var overlay = (OverlayMessage)MessageParser.Parse(frames);
            Assert.AreEqual(2, overlay.Structures.Count);
            Assert.AreEqual("caution", overlay.Needle.ProximityText);
        }

        [Test]
        public void NeverPlacesAnOverlayWhosePoseIsLost()
        {
            var overlay = TestMessages.OverlayWithBody(b => b.Set("pose_validity", JsonValue.From("lost")));
            Assert.IsNotNull(overlay.TUnityFromImage, "the matrix was sent");
            Assert.IsFalse(overlay.IsPlaced, "but a lost pose must never place the overlay");
            Assert.IsFalse(TestMessages.OverlayWithBody(b => b.Set("pose_validity", JsonValue.From("teleported"))).IsPlaced);
            Assert.IsTrue(TestMessages.OverlayWithBody(b => b.Set("pose_validity", JsonValue.From("occluded"))).IsPlaced);
            Assert.IsFalse(TestMessages.Overlay("overlay_pose_lost").IsPlaced);
        }

        [Test]
        public void UnknownValidityIsNeverCertain()
        {
            var overlay = TestMessages.OverlayWithBody(b => ((JsonObject)((JsonArray)b["structures"])[0]).Set("validity", JsonValue.From("probably")));
            Assert.IsFalse(overlay.Structures[0].IsCertain);
            Assert.AreEqual(Proximity.Unknown, TestMessages.OverlayWithBody(b => ((JsonObject)b["needle"]).Set("proximity", JsonValue.From("close"))).Needle.Proximity);
        }

        [Test]
        public void FramePackingRoundTripsAndRefusesTruncation()
        {
            var frames = GoldenFiles.Frames("overlay");
            var packed = FramePacking.Pack(frames);
            var again = FramePacking.Unpack(packed);
            Assert.AreEqual(frames.Count, again.Count);
            for (int i = 0; i < frames.Count; i++) CollectionAssert.AreEqual(frames[i], again[i]);
            var cut = new byte[packed.Length - 3];
            System.Array.Copy(packed, cut, cut.Length);
            StringAssert.Contains("remain", Assert.Throws<ProtocolException>(() => FramePacking.Unpack(cut)).Message);
        }

        [Test]
        public void TypedAccessorsRefuseTheWrongDtype()
        {
            var msg = WireDecoder.Decode(GoldenFiles.Frames("overlay"));
            WireArray contour;
            Assert.IsTrue(msg.TryGetArray("contour_7", out contour));
            StringAssert.Contains("is <f4, expected <f8", Assert.Throws<ProtocolException>(() => contour.ToFloat64()).Message);
            Assert.AreEqual(8, contour.ToFloat32().Length);
        }

        [Test]
        public void DecodesEveryAllowedDtypeLittleEndian()
        {
            var header = "{\"schema\":\"sonoguide.overlay/1\",\"seq\":1,\"t_capture_ns\":0,\"t_publish_ns\":0,\"arrays\":["
                         + "{\"name\":\"a\",\"dtype\":\"<i4\",\"shape\":[2]},{\"name\":\"b\",\"dtype\":\"<i2\",\"shape\":[2]},"
                         + "{\"name\":\"c\",\"dtype\":\"<u2\",\"shape\":[1]},{\"name\":\"d\",\"dtype\":\"<u1\",\"shape\":[2]},"
                         + "{\"name\":\"e\",\"dtype\":\"<f8\",\"shape\":[]}]}";
            var frames = new List<byte[]>
            {
                TestMessages.Ascii("overlay"), Encoding.UTF8.GetBytes(header),
                new byte[] { 0x01, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0xFF, 0x7F },
                new byte[] { 0xFE, 0xFF, 0x34, 0x12 },
                new byte[] { 0xFF, 0xFF },
                new byte[] { 0x00, 0xFF },
                new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F },
            };
            var msg = WireDecoder.Decode(frames);
            CollectionAssert.AreEqual(new[] { int.MinValue + 1, int.MaxValue }, msg.Arrays[0].ToInt32());
            CollectionAssert.AreEqual(new short[] { -2, 0x1234 }, msg.Arrays[1].ToInt16());
            CollectionAssert.AreEqual(new ushort[] { 65535 }, msg.Arrays[2].ToUInt16());
            CollectionAssert.AreEqual(new byte[] { 0, 255 }, msg.Arrays[3].ToUInt8());
            Assert.AreEqual(1, msg.Arrays[4].Count, "a 0-d array holds one element");
            Assert.AreEqual(1.0, msg.Arrays[4].ToFloat64()[0]);
        }
    }
}
