using System.Collections.Generic;
using System.IO;
using NUnit.Framework;
using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Wire;
using E = Sonoguide.Protocol.Tests.ExpectedValues;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>
    /// Every golden message (PROTOCOL.md, "Golden files") decodes to exactly what its <c>*.expected.json</c> says:
    /// header fields, the whole body, every array's dtype, shape and values, and every field of the typed message.
    /// </summary>
    [TestFixture]
    public class GoldenFileTests
    {
        /// <summary>Every golden message present in the folder (new ones are picked up automatically).</summary>
        public static IEnumerable<string> GoldenNames()
        {
            return GoldenFiles.Names();
        }

        [Test]
        public void GoldenFolderHoldsEveryKnownMessageWithItsExpectation()
        {
            string dir = GoldenFiles.RequireDirectory();
            var names = new List<string>(GoldenFiles.Names());
            foreach (var known in GoldenFiles.KnownNames)
            {
                CollectionAssert.Contains(names, known, "golden message missing from " + dir);
            }
            foreach (var name in names)
            {
                Assert.IsTrue(File.Exists(Path.Combine(dir, name + ".expected.json")), name + ".expected.json missing");
            }
        }

        [TestCaseSource("GoldenNames")]
        public void DecodesHeaderBodyAndArraysExactly(string name)
        {
            var expected = GoldenFiles.Expected(name);
            var msg = WireDecoder.Decode(GoldenFiles.Frames(name));

            Assert.AreEqual(((JsonString)expected["topic"]).Value, msg.Topic, "topic");
            Assert.AreEqual(((JsonString)expected["schema"]).Value, msg.Schema, "schema");
            Assert.AreEqual(E.Long(expected, "seq"), msg.Seq, "seq");
            Assert.AreEqual(E.Long(expected, "t_capture_ns"), msg.TCaptureNs, "t_capture_ns");
            Assert.AreEqual(E.Long(expected, "t_publish_ns"), msg.TPublishNs, "t_publish_ns");
            Assert.IsTrue(expected["body"].DeepEquals(msg.Body), "body differs:\nexpected " + expected["body"] + "\ndecoded  " + msg.Body);

            var arrays = (JsonObject)expected["arrays"];
            Assert.AreEqual(arrays.Count, msg.Arrays.Count, "number of arrays");
            foreach (var arrayName in arrays.Keys)
            {
                WireArray actual;
                Assert.IsTrue(msg.TryGetArray(arrayName, out actual), "array " + arrayName + " not decoded");
                E.AssertArray((JsonObject)arrays[arrayName], actual);
            }
        }

        [TestCaseSource("GoldenNames")]
        public void TypedMessageMatchesExpectation(string name)
        {
            var expected = GoldenFiles.Expected(name);
            var typed = MessageParser.Parse(GoldenFiles.Frames(name));
            var body = (JsonObject)expected["body"];
            var arrays = (JsonObject)expected["arrays"];
            Assert.AreEqual(E.Long(expected, "seq"), typed.Seq);
            Assert.AreEqual(E.Long(expected, "t_capture_ns"), typed.TCaptureNs);
            Assert.AreEqual(E.Long(expected, "t_publish_ns"), typed.TPublishNs);
            switch (typed.Topic)
            {
                case Topics.Overlay:
                    CheckOverlay((OverlayMessage)typed, body, arrays);
                    break;
                case Topics.State:
                    CheckState((StateMessage)typed, body);
                    break;
                case Topics.Heartbeat:
                    CheckHeartbeat((HeartbeatMessage)typed, body);
                    break;
                case Topics.Voice:
                    CheckVoice((VoiceMessage)typed, body);
                    break;
                default:
                    Assert.Fail("golden message " + name + " has a topic without a typed check: " + typed.Topic);
                    break;
            }
        }

        [TestCaseSource("GoldenNames")]
        public void ReEncodingReproducesTheDecodedMessage(string name)
        {
            var msg = WireDecoder.Decode(GoldenFiles.Frames(name));
            var again = WireDecoder.Decode(WireEncoder.Encode(msg.Topic, msg.Schema, msg.Seq, msg.TCaptureNs, msg.TPublishNs,
                                                              msg.Body, new List<WireArray>(msg.Arrays)));
            Assert.IsTrue(msg.Header.DeepEquals(again.Header), "header changed by a decode/encode round trip");
            for (int i = 0; i < msg.Arrays.Count; i++)
            {
                CollectionAssert.AreEqual(msg.Arrays[i].Data, again.Arrays[i].Data, msg.Arrays[i].Name);
            }
        }

        private static void CheckOverlay(OverlayMessage m, JsonObject body, JsonObject arrays)
        {
            Assert.AreEqual(E.Long(body, "frame_seq"), m.FrameSeq, "frame_seq");
            Assert.AreEqual(E.Long(body, "valid_until_ns"), m.ValidUntilNs, "valid_until_ns");
            var size = E.Flatten(body["image_size"]);
            Assert.AreEqual(size[0], m.ImageWidth, "image_size[0]");
            Assert.AreEqual(size[1], m.ImageHeight, "image_size[1]");
            var mm = E.Flatten(body["mm_per_px"]);
            Assert.AreEqual(mm[0], m.MmPerPxRow, "mm_per_px[0]");
            Assert.AreEqual(mm[1], m.MmPerPxCol, "mm_per_px[1]");
            Assert.AreEqual(((JsonBool)body["frozen"]).Value, m.Frozen, "frozen");
            var frozenAt = body["frozen_at_ns"];
            if (frozenAt == null || frozenAt.IsNull) Assert.IsNull(m.FrozenAtNs, "frozen_at_ns");
            else Assert.AreEqual(E.Long(body, "frozen_at_ns"), m.FrozenAtNs.Value, "frozen_at_ns");
            CheckLayers((JsonObject)body["layers"], m.Layers);
            Assert.AreEqual(E.Double(body["quality"]), m.Quality, "quality");
            var flags = (JsonArray)body["quality_flags"];
            Assert.AreEqual(flags.Count, m.QualityFlags.Count, "quality_flags");
            for (int i = 0; i < flags.Count; i++) Assert.AreEqual(((JsonString)flags[i]).Value, m.QualityFlags[i]);
            Assert.AreEqual(((JsonString)body["pose_validity"]).Value, m.PoseValidityText, "pose_validity");
            Assert.AreEqual(E.NullableDouble(body["pose_age_ms"]), m.PoseAgeMs, "pose_age_ms");
            Assert.AreEqual(((JsonString)body["source"]).Value, m.Source, "source");

            // Placement matrices: present exactly when the expectation has them, and only for a usable pose.
            CheckMatrix(arrays, "T_headset_from_image", m.THeadsetFromImage);
            CheckMatrix(arrays, "T_unity_from_image", m.TUnityFromImage);
            bool usablePose = m.PoseValidityText == "ok" || m.PoseValidityText == "occluded";
            Assert.AreEqual(usablePose && arrays.ContainsKey("T_unity_from_image"), m.IsPlaced, "IsPlaced");
            if (m.TUnityFromImage != null)
            {
                // PROTOCOL.md: T_unity_from_image = diag(0.001, 0.001, -0.001, 1) @ T_headset_from_image
                var converted = Matrix4x4d.UnityFromHeadset * m.THeadsetFromImage;
                Assert.Less(converted.MaxAbsDifference(m.TUnityFromImage), 1e-15, "T_unity_from_image is not the converted headset transform");
            }

            var structs = (JsonArray)body["structures"];
            Assert.AreEqual(structs.Count, m.Structures.Count, "structures");
            for (int i = 0; i < structs.Count; i++)
            {
                var s = (JsonObject)structs[i];
                var d = m.Structures[i];
                Assert.AreEqual(E.Long(s, "id"), d.Id, "id");
                Assert.AreEqual(((JsonString)s["cls"]).Value, d.ClassName, "cls");
                Assert.AreEqual(((JsonString)s["validity"]).Value, d.Validity, "validity");
                Assert.AreEqual(d.Validity == "ok", d.IsCertain, "IsCertain");
                Assert.AreEqual(E.Double(s["confidence"]), d.Confidence, "confidence");
                Assert.AreEqual(E.Double(s["area_mm2"]), d.AreaMm2, "area_mm2");
                string contour = ((JsonString)s["contour"]).Value;
                Assert.AreEqual(contour, d.ContourName);
                var spec = (JsonObject)arrays[contour];
                E.AssertExactly(E.Flatten(spec["values"]), E.Widen(d.ContourPx), contour);
                if (m.TUnityFromImage != null)
                {
                    CheckContourPlacement((JsonObject)arrays["T_unity_from_image"], d.ContourPx, ImagePlane.ContourToUnity(m.TUnityFromImage, d.ContourPx));
                }
            }

            var needle = body["needle"] as JsonObject;
            if (needle == null)
            {
                Assert.IsNull(m.Needle, "needle");
            }
            else
            {
                var n = m.Needle;
                Assert.IsNotNull(n, "needle");
                Assert.AreEqual(((JsonString)needle["validity"]).Value, n.Validity, "needle.validity");
                CheckPoint(needle["tip_px"], n.TipPx, "needle.tip_px");
                CheckPoint(needle["entry_px"], n.EntryPx, "needle.entry_px");
                Assert.AreEqual(E.NullableDouble(needle["angle_deg"]), n.AngleDeg, "needle.angle_deg");
                Assert.AreEqual(((JsonString)needle["proximity"]).Value, n.ProximityText, "needle.proximity");
                CheckDistances((JsonObject)needle["tip_distance_mm"], n.TipDistanceMm, "tip_distance_mm");
                CheckDistances((JsonObject)needle["trajectory_distance_mm"], n.TrajectoryDistanceMm, "trajectory_distance_mm");
                string trajectory = E.NullableString(needle["trajectory"]);
                if (trajectory == null) Assert.IsNull(n.TrajectoryPx);
                else E.AssertExactly(E.Flatten(((JsonObject)arrays[trajectory])["values"]), E.Widen(n.TrajectoryPx), trajectory);
            }

            string image = E.NullableString(body["image"]);
            if (image == null)
            {
                Assert.IsNull(m.Image, "image");
            }
            else
            {
                var spec = (JsonObject)arrays[image];
                var shape = E.Shape(spec);
                Assert.AreEqual(shape[0], m.Image.Height, "image height");
                Assert.AreEqual(shape[1], m.Image.Width, "image width");
                var values = E.Flatten(spec["values"]);
                for (int i = 0; i < values.Count; i++) Assert.AreEqual(values[i], (double)m.Image.Pixels[i], "image pixel " + i);
            }
        }

        private static void CheckContourPlacement(JsonObject tSpec, float[] contour, Point3d[] placed)
        {
            // The expectation's own matrix values applied by hand: p = T @ [x, y, 0, 1].
            var t = E.Flatten(tSpec["values"]);
            for (int i = 0; i < placed.Length; i++)
            {
                double x = contour[2 * i], y = contour[2 * i + 1];
                Assert.AreEqual(t[0] * x + t[1] * y + t[3], placed[i].X, 1e-12, "x of point " + i);
                Assert.AreEqual(t[4] * x + t[5] * y + t[7], placed[i].Y, 1e-12, "y of point " + i);
                Assert.AreEqual(t[8] * x + t[9] * y + t[11], placed[i].Z, 1e-12, "z of point " + i);
            }
        }

        private static void CheckMatrix(JsonObject arrays, string name, Matrix4x4d actual)
        {
            if (!arrays.ContainsKey(name))
            {
                Assert.IsNull(actual, name + " must be absent");
                return;
            }
            Assert.IsNotNull(actual, name);
            E.AssertExactly(E.Flatten(((JsonObject)arrays[name])["values"]), actual.ToRowMajor(), name);
        }

        private static void CheckPoint(JsonValue expected, double[] actual, string what)
        {
            if (expected == null || expected.IsNull)
            {
                Assert.IsNull(actual, what);
                return;
            }
            E.AssertExactly(E.Flatten(expected), actual, what);
        }

        private static void CheckDistances(JsonObject expected, IReadOnlyDictionary<string, double?> actual, string what)
        {
            Assert.AreEqual(expected.Count, actual.Count, what);
            foreach (var key in expected.Keys)
            {
                Assert.IsTrue(actual.ContainsKey(key), what + "." + key);
                Assert.AreEqual(E.NullableDouble(expected[key]), actual[key], what + "." + key);
            }
        }

        private static void CheckLayers(JsonObject expected, IReadOnlyDictionary<string, bool> actual)
        {
            Assert.AreEqual(expected.Count, actual.Count, "layers");
            foreach (var key in expected.Keys)
            {
                Assert.AreEqual(((JsonBool)expected[key]).Value, actual[key], "layers." + key);
            }
        }

        private static void CheckState(StateMessage m, JsonObject body)
        {
            Assert.AreEqual(E.Long(body, "version"), m.Version, "version");
            Assert.AreEqual(((JsonBool)body["frozen"]).Value, m.Frozen, "frozen");
            CheckLayers((JsonObject)body["layers"], m.Layers);
            Assert.AreEqual(((JsonBool)body["recording"]).Value, m.Recording, "recording");
            Assert.AreEqual(((JsonString)body["tracking"]).Value, m.Tracking, "tracking");
            Assert.AreEqual(E.NullableString(body["pending_confirmation"]), m.PendingConfirmation, "pending_confirmation");
            Assert.AreEqual(E.Long(body, "pending_deadline_ns"), m.PendingDeadlineNs, "pending_deadline_ns");
            var last = body["last_command"] as JsonObject;
            if (last == null)
            {
                Assert.IsNull(m.LastCommand, "last_command");
            }
            else
            {
                Assert.AreEqual(((JsonString)last["intent"]).Value, m.LastCommand.Intent, "last_command.intent");
                Assert.AreEqual(((JsonString)last["origin"]).Value, m.LastCommand.Origin, "last_command.origin");
                Assert.AreEqual(E.Long(last, "t_ns"), m.LastCommand.TNs, "last_command.t_ns");
            }
            Assert.AreEqual(E.Long(body, "snapshots"), m.Snapshots, "snapshots");
            Assert.AreEqual(E.NullableDouble(body["noise_dbfs"]), m.NoiseDbfs, "noise_dbfs");
            Assert.AreEqual(E.NullableString(body["voice_engine"]), m.VoiceEngine, "voice_engine");
            Assert.AreEqual(((JsonBool)body["overloaded"]).Value, m.Overloaded, "overloaded");
        }

        private static void CheckHeartbeat(HeartbeatMessage m, JsonObject body)
        {
            Assert.AreEqual(E.Double(body["uptime_s"]), m.UptimeS, "uptime_s");
            Assert.AreEqual(E.Long(body, "subscribers"), m.Subscribers, "subscribers");
            Assert.AreEqual(E.Double(body["overlay_hz"]), m.OverlayHz, "overlay_hz");
            Assert.AreEqual(((JsonString)body["tracking"]).Value, m.Tracking, "tracking");
            Assert.AreEqual(((JsonBool)body["frozen"]).Value, m.Frozen, "frozen");
            Assert.AreEqual(E.Long(body, "state_version"), m.StateVersion, "state_version");
            Assert.AreEqual(((JsonString)body["control"]).Value, m.Control, "control");
            Assert.AreEqual(E.Long(body, "clock_origin_ns"), m.ClockOriginNs, "clock_origin_ns");
            Assert.AreEqual(E.Long(body, "clock_steps"), m.ClockSteps, "clock_steps");
            Assert.AreEqual(E.Long(body, "clock_wall_step_ns"), m.ClockWallStepNs, "clock_wall_step_ns");
        }

        private static void CheckVoice(VoiceMessage m, JsonObject body)
        {
            Assert.AreEqual(((JsonString)body["decision"]).Value, m.Decision, "decision");
            Assert.AreEqual(E.NullableString(body["text"]), m.Text, "text");
            Assert.AreEqual(E.NullableString(body["intent"]), m.Intent, "intent");
            Assert.AreEqual(E.NullableString(body["reason"]), m.Reason, "reason");
        }
    }
}
