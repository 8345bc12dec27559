using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Control
{
    /// <summary>
    /// A control reply <c>{"id", "ok", "status"?, "intent"?, "error"?, "state"?}</c> (PROTOCOL.md, "Control channel").
    /// </summary>
    public sealed class ControlReply
    {
        /// <summary>The echoed id (an integer id as its text), or null when the core could not read it.</summary>
        public string Id { get; private set; }

        /// <summary>The command was accepted (executed, or now awaiting confirmation).</summary>
        public bool Ok { get; private set; }

        /// <summary><c>executed</c>, <c>awaiting_confirmation</c>, <c>cancelled</c>, <c>rejected</c>, or null.</summary>
        public string Status { get; private set; }

        /// <summary>The intent executed or pending, or null.</summary>
        public string Intent { get; private set; }

        /// <summary>Why it failed, or null.</summary>
        public string Error { get; private set; }

        /// <summary>The <c>state</c> object of a <c>get_state</c> reply, or null.</summary>
        public JsonObject State { get; private set; }

        /// <summary>The whole reply (for fields such as the <c>get_stats</c> table).</summary>
        public JsonObject Raw { get; private set; }

        /// <summary>True when this reply was made by the client because none came in time.</summary>
        public bool TimedOut { get; private set; }

        /// <summary>True when the core asks for "confirm" before executing.</summary>
        public bool AwaitingConfirmation
        {
            get { return Ok && Status == "awaiting_confirmation"; }
        }

        /// <summary>Parse one reply frame.</summary>
        /// <exception cref="ProtocolException">not UTF-8 JSON, not an object, or no boolean <c>ok</c>.</exception>
        public static ControlReply Parse(byte[] frame)
        {
            JsonValue parsed;
            try
            {
                parsed = JsonReader.Parse(frame);
            }
            catch (JsonParseException exc)
            {
                throw new ProtocolException("control reply is not UTF-8 JSON: " + exc.Message, exc);
            }
            var obj = parsed as JsonObject;
            if (obj == null)
            {
                throw new ProtocolException("control reply must be a JSON object");
            }
            var b = new BodyReader(obj, "control reply", "control_reply");
            var reply = new ControlReply { Ok = b.Bool("ok"), Raw = obj };
            reply.Id = b.NullableIdText("id");
            reply.Status = b.NullableString("status");
            reply.Intent = b.NullableString("intent");
            reply.Error = b.NullableString("error");
            reply.State = b.NullableObject("state");
            if (!reply.Ok && reply.Error == null)
            {
                reply.Error = "the core refused the command without a reason";
            }
            return reply;
        }

        /// <summary>A reply made by the client for a request that got no answer in time.</summary>
        public static ControlReply Timeout(string id, double seconds)
        {
            return Failed(id, "no reply from the core within " + seconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " s");
        }

        /// <summary>A reply made by the client for a request that cannot be answered any more (e.g. the link was lost).</summary>
        public static ControlReply Failed(string id, string reason)
        {
            var raw = new JsonObject().Set("id", JsonValue.From(id)).Set("ok", JsonValue.From(false)).Set("error", JsonValue.From(reason));
            return new ControlReply { Id = id, Ok = false, TimedOut = true, Raw = raw, Error = reason };
        }

        /// <summary>The <c>state</c> of a <c>get_state</c> reply as a typed message, or null.</summary>
        /// <exception cref="ProtocolException">the state is incomplete.</exception>
        public StateMessage ParseState()
        {
            if (State == null)
            {
                return null;
            }
            var wire = new WireMessage(Topics.State, SchemaName.Format(Topics.State, 1), 0, 0, 0, new JsonObject(), State, new WireArray[0]);
            return StateMessage.FromWire(wire);
        }
    }
}
