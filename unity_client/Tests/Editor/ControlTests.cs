using System.Text;
using NUnit.Framework;
using Sonoguide.Protocol.Control;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>Control requests and replies (PROTOCOL.md, "Control channel").</summary>
    [TestFixture]
    public class ControlTests
    {
        private static byte[] Utf8(string s)
        {
            return Encoding.UTF8.GetBytes(s);
        }

        [Test]
        public void BuildsTheRequestFrame()
        {
            var r = new ControlRequest("42", "  Hide   ALL ");
            Assert.AreEqual("{\"id\":\"42\",\"command\":\"hide all\"}", Encoding.UTF8.GetString(r.Frame));
            Assert.AreEqual("hide all", r.Command);
            var extra = new ControlRequest("7", "snapshot", new JsonObject().Set("label", JsonValue.From("before block")));
            var parsed = (JsonObject)JsonReader.Parse(extra.Frame);
            Assert.AreEqual("before block", ((JsonString)parsed["label"]).Value);
            Assert.AreEqual("7", ((JsonString)parsed["id"]).Value, "the id cannot be overridden by extra fields");
        }

        [Test]
        public void RefusesEmptyOrOversizedRequests()
        {
            Assert.Throws<System.ArgumentException>(() => new ControlRequest("1", "   "));
            Assert.Throws<System.ArgumentException>(() => new ControlRequest("", "freeze"));
            var big = new JsonObject().Set("blob", JsonValue.From(new string('x', ControlRequest.MaxBytes)));
            StringAssert.Contains("at most 65536", Assert.Throws<System.ArgumentException>(() => new ControlRequest("1", "freeze", big)).Message);
        }

        [Test]
        public void ParsesExecutedAwaitingAndRefusedReplies()
        {
            var executed = ControlReply.Parse(Utf8("{\"id\": \"42\", \"ok\": true, \"status\": \"executed\", \"intent\": \"freeze\"}"));
            Assert.AreEqual("42", executed.Id);
            Assert.IsTrue(executed.Ok);
            Assert.AreEqual("executed", executed.Status);
            Assert.AreEqual("freeze", executed.Intent);
            Assert.IsFalse(executed.AwaitingConfirmation);
            var waiting = ControlReply.Parse(Utf8("{\"id\": \"43\", \"ok\": true, \"status\": \"awaiting_confirmation\", \"intent\": \"hide all\"}"));
            Assert.IsTrue(waiting.AwaitingConfirmation);
            var refused = ControlReply.Parse(Utf8("{\"id\": \"44\", \"ok\": false, \"error\": \"unknown command 'fly'; known: freeze\"}"));
            Assert.IsFalse(refused.Ok);
            StringAssert.StartsWith("unknown command 'fly'", refused.Error);
            var noId = ControlReply.Parse(Utf8("{\"id\": null, \"ok\": false, \"error\": \"request is not UTF-8 JSON\"}"));
            Assert.IsNull(noId.Id);
            Assert.AreEqual("5", ControlReply.Parse(Utf8("{\"id\": 5, \"ok\": true}")).Id, "integer ids come back as text");
            Assert.IsNotNull(ControlReply.Parse(Utf8("{\"id\": \"9\", \"ok\": false}")).Error, "a refusal always has a reason");
        }

        [Test]
        public void RefusesMalformedReplies()
        {
            StringAssert.Contains("not UTF-8 JSON", Assert.Throws<ProtocolException>(() => ControlReply.Parse(Utf8("{"))).Message);
            StringAssert.Contains("must be a JSON object", Assert.Throws<ProtocolException>(() => ControlReply.Parse(Utf8("[]"))).Message);
            StringAssert.Contains("'ok' missing", Assert.Throws<ProtocolException>(() => ControlReply.Parse(Utf8("{\"id\": \"1\"}"))).Message);
            StringAssert.Contains("'ok' missing", Assert.Throws<ProtocolException>(() => ControlReply.Parse(Utf8("{\"id\": \"1\", \"ok\": 1}"))).Message);
        }

        [Test]
        public void GetStateReplyCarriesATypedState()
        {
            var golden = GoldenFiles.Expected("state");
            var reply = new JsonObject().Set("id", JsonValue.From("3")).Set("ok", JsonValue.From(true)).Set("state", golden["body"]);
            var state = ControlReply.Parse(JsonWriter.WriteUtf8(reply)).ParseState();
            Assert.AreEqual(9, state.Version);
            Assert.AreEqual("hide all", state.PendingConfirmation);
            Assert.IsNull(ControlReply.Parse(Utf8("{\"id\": \"1\", \"ok\": true}")).ParseState());
        }

        [Test]
        public void StatsReplyKeepsUnknownFieldsAndNonFiniteNumbers()
        {
            var reply = ControlReply.Parse(Utf8("{\"id\": \"8\", \"ok\": true, \"stats\": {\"segment\": {\"p50_ms\": 12.5, \"p99_ms\": NaN}}}"));
            var stats = (JsonObject)reply.Raw["stats"];
            Assert.IsTrue(double.IsNaN(((JsonNumber)((JsonObject)stats["segment"])["p99_ms"]).AsDouble()));
        }

        [Test]
        public void TrackerMatchesRepliesByIdAndExpiresTheRest()
        {
            var t = new ControlRequestTracker();
            var a = t.Create("freeze", 1000);
            var b = t.Create("hide all", 2000);
            Assert.AreNotEqual(a.Id, b.Id);
            Assert.AreEqual(2, t.PendingCount);
            // pipelined: the second reply arrives first
            Assert.AreSame(b, t.Resolve(ControlReply.Parse(Utf8("{\"id\": \"" + b.Id + "\", \"ok\": true}"))));
            Assert.IsNull(t.Resolve(ControlReply.Parse(Utf8("{\"id\": \"" + b.Id + "\", \"ok\": true}"))), "answered once only");
            Assert.IsNull(t.Resolve(ControlReply.Parse(Utf8("{\"id\": \"other\", \"ok\": true}"))));
            Assert.IsTrue(t.IsPending(a.Id));
            CollectionAssert.IsEmpty(t.Expire(999));
            var expired = t.Expire(1000);
            Assert.AreEqual(1, expired.Count);
            Assert.AreSame(a, expired[0]);
            Assert.IsFalse(t.IsPending(a.Id));
            Assert.AreEqual(0, t.PendingCount);
            var timeout = ControlReply.Timeout(a.Id, 2.0);
            Assert.IsTrue(timeout.TimedOut);
            Assert.IsFalse(timeout.Ok);
            Assert.AreEqual("no reply from the core within 2.0 s", timeout.Error);
        }

        [Test]
        public void KnowsTheCommandSet()
        {
            Assert.IsTrue(Commands.IsKnown("Show  Nerve"));
            Assert.IsTrue(Commands.IsKnown("get_state"));
            Assert.IsFalse(Commands.IsKnown("fly"));
            Assert.AreEqual(15, Commands.Intents.Length);
        }
    }
}
