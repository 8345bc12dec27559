using System.Collections.Generic;
using NUnit.Framework;
using Sonoguide.Protocol.Control;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Messages;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>
    /// The C# readers agree with the core's machine-readable wire contract (<c>Tests/Golden/wire_schema.json</c>): every
    /// field the core sends is read, nothing else is read, with compatible types, nullability and requiredness; and the
    /// check itself fails when the schema gains, loses or changes a field (<see cref="WireSchemaConformance"/>).
    /// </summary>
    [TestFixture]
    public class WireSchemaTests
    {
        private static JsonObject Copy(JsonObject schema)
        {
            return (JsonObject)JsonReader.Parse(JsonWriter.Write(schema));
        }

        private static JsonObject Def(JsonObject schema, string name)
        {
            return (JsonObject)((JsonObject)schema["$defs"])[name];
        }

        private static List<string> Problems(JsonObject schema)
        {
            return WireSchemaConformance.Compare(schema, WireSchemaConformance.RecordClientReads());
        }

        private static void AssertReported(List<string> problems, string fragment)
        {
            foreach (var p in problems)
            {
                if (p.Contains(fragment)) return;
            }
            Assert.Fail("expected a problem containing '" + fragment + "', got:\n" + string.Join("\n", problems));
        }

        [Test]
        public void ClientReadsExactlyTheFieldsTheSchemaDescribes()
        {
            var problems = Problems(WireSchemaConformance.LoadSchema());
            Assert.IsEmpty(problems, "the C# client and wire_schema.json disagree:\n" + string.Join("\n", problems));
        }

        [Test]
        public void EveryHeaderHasTheFieldsTheDecoderReads()
        {
            var problems = WireSchemaConformance.CompareHeaders(WireSchemaConformance.LoadSchema());
            Assert.IsEmpty(problems, string.Join("\n", problems));
        }

        [Test]
        public void SchemaVersionsAreTheOnesTheClientSupports()
        {
            var versions = (JsonObject)WireSchemaConformance.LoadSchema()["x-sonoguide-versions"];
            foreach (var topic in versions.Keys)
            {
                long v;
                Assert.IsTrue(((JsonNumber)versions[topic]).TryGetInt64(out v));
                Assert.AreEqual(v, (long)Topics.SupportedVersion(topic), "schema version of topic " + topic);
            }
        }

        [Test]
        public void AFieldTheCoreAddsIsReported()
        {
            var schema = Copy(WireSchemaConformance.LoadSchema());
            var hb = Def(schema, "heartbeat");
            ((JsonObject)hb["properties"]).Set("battery", new JsonObject().Set("type", JsonValue.From("number")));
            ((JsonArray)hb["required"]).Add(JsonValue.From("battery"));
            AssertReported(Problems(schema), "heartbeat.battery: in the schema, not read by the C# client");

            var needle = Def(schema, "overlay.needle");
            ((JsonObject)needle["properties"]).Set("depth_mm", new JsonObject().Set("type", JsonValue.From("number")));
            AssertReported(Problems(schema), "overlay.needle.depth_mm: in the schema, not read by the C# client");
        }

        [Test]
        public void AFieldTheCoreNoLongerSendsIsReported()
        {
            var schema = Copy(WireSchemaConformance.LoadSchema());
            ((JsonObject)Def(schema, "state")["properties"]).Remove("snapshots");
            AssertReported(Problems(schema), "state.snapshots: read by the C# client, not in the schema");
        }

        [Test]
        public void ATypeTheClientCannotReadIsReported()
        {
            var schema = Copy(WireSchemaConformance.LoadSchema());
            ((JsonObject)Def(schema, "heartbeat")["properties"]).Set("subscribers", new JsonObject().Set("type", JsonValue.From("number")));
            AssertReported(Problems(schema), "heartbeat.subscribers: the schema allows number, the C# client reads integer");
        }

        [Test]
        public void ANullTheClientCannotTakeIsReported()
        {
            var schema = Copy(WireSchemaConformance.LoadSchema());
            var type = new JsonArray().Add(JsonValue.From("string")).Add(JsonValue.From("null"));
            ((JsonObject)Def(schema, "overlay")["properties"]).Set("pose_validity", new JsonObject().Set("type", type));
            AssertReported(Problems(schema), "overlay.pose_validity: the schema allows null, the C# client requires a value");
        }

        [Test]
        public void AFieldTheClientRequiresButTheSchemaLeavesOptionalIsReported()
        {
            var schema = Copy(WireSchemaConformance.LoadSchema());
            var voice = Def(schema, "voice");
            var required = new JsonArray();
            foreach (var item in ((JsonArray)voice["required"]).Items)
            {
                if (((JsonString)item).Value != "decision") required.Add(item);
            }
            voice.Set("required", required);
            AssertReported(Problems(schema), "voice.decision: optional in the schema, required by the C# client");
        }

        [Test]
        public void AFieldTheClientStartsReadingIsReported()
        {
            var uses = WireSchemaConformance.RecordClientReads();
            uses.Add(new WireFieldUse("heartbeat", "cpu_load", "number", false, true));
            AssertReported(WireSchemaConformance.Compare(WireSchemaConformance.LoadSchema(), uses),
                           "heartbeat.cpu_load: read by the C# client, not in the schema");
        }

        [Test]
        public void RecordingStopsWithTheRecorder()
        {
            using (var r = WireFieldRecorder.Start())
            {
                MessageParser.Parse(GoldenFiles.Frames("heartbeat"));
                Assert.IsNotEmpty(r.Uses);
            }
            using (var r = WireFieldRecorder.Start())
            {
                Assert.IsEmpty(r.Uses);
            }
        }
    }

    /// <summary>
    /// The golden control exchanges (<c>control_&lt;name&gt;.request.json</c> / <c>.reply.json</c>), produced by the core's
    /// real control server: the client's request encoder writes the same object and its reply parser reads the reply.
    /// </summary>
    [TestFixture]
    public class ControlGoldenTests
    {
        public static IEnumerable<string> Names()
        {
            return GoldenFiles.ControlNames();
        }

        [Test]
        public void TheGoldenExchangesAreThere()
        {
            CollectionAssert.IsSubsetOf(new[] { "freeze", "hide_all", "get_state", "ping", "unknown", "malformed" }, new List<string>(Names()));
        }

        [TestCaseSource("Names")]
        public void ClientEncodesTheSameRequest(string name)
        {
            JsonObject golden;
            try
            {
                golden = JsonReader.Parse(GoldenFiles.ControlRequest(name)) as JsonObject;
            }
            catch (JsonParseException)
            {
                golden = null;
            }
            if (golden == null)
            {
                Assert.AreEqual("malformed", name, "only the malformed exchange has a request that is not a JSON object");
                return;
            }
            var id = golden["id"] is JsonString ? ((JsonString)golden["id"]).Value : ((JsonNumber)golden["id"]).Text;
            var request = new ControlRequest(id, ((JsonString)golden["command"]).Value);
            var mine = (JsonObject)JsonReader.Parse(request.Frame);
            Assert.AreEqual(new List<string>(golden.Keys), new List<string>(mine.Keys), "request fields");
            Assert.IsTrue(golden["command"].DeepEquals(mine["command"]), "command");
            Assert.AreEqual(id, ((JsonString)mine["id"]).Value, "id");
        }

        [TestCaseSource("Names")]
        public void ClientReadsTheReply(string name)
        {
            var raw = GoldenFiles.ControlReply(name);
            var golden = (JsonObject)JsonReader.Parse(raw);
            var reply = ControlReply.Parse(raw);
            Assert.AreEqual(((JsonBool)golden["ok"]).Value, reply.Ok, "ok");
            var id = golden["id"];
            Assert.AreEqual(id.IsNull ? null : id is JsonString ? ((JsonString)id).Value : ((JsonNumber)id).Text, reply.Id, "id");
            Assert.AreEqual(golden.ContainsKey("status") ? ((JsonString)golden["status"]).Value : null, reply.Status, "status");
            if (!reply.Ok)
            {
                StringAssert.StartsWith(((JsonString)golden["error"]).Value.Substring(0, 10), reply.Error);
            }
            if (name == "get_state")
            {
                var state = reply.ParseState();
                Assert.IsNotNull(state);
                Assert.IsTrue(state.Frozen, "the golden get_state follows a freeze");
                Assert.AreEqual("hide all", state.PendingConfirmation);
            }
            if (name == "hide_all")
            {
                Assert.IsTrue(reply.AwaitingConfirmation);
            }
        }
    }
}
