using System.Collections.Generic;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>The last executed command (PROTOCOL.md, state field <c>last_command</c>: <c>{"intent", "origin", "t_ns"}</c>).</summary>
    public sealed class LastCommand
    {
        /// <summary>The intent, e.g. <c>hide vessel</c>.</summary>
        public string Intent { get; }

        /// <summary>Where it came from: <c>voice</c>, <c>control</c> or <c>replay</c>.</summary>
        public string Origin { get; }

        /// <summary>When it executed (host ns).</summary>
        public long TNs { get; }

        internal LastCommand(string intent, string origin, long tNs)
        {
            Intent = intent;
            Origin = origin;
            TNs = tNs;
        }
    }

    /// <summary>
    /// The guidance state (PROTOCOL.md, topic <c>state</c>): sent on every change, periodically, and at once to a new subscriber.
    /// </summary>
    public sealed class StateMessage : ProtocolMessage
    {
        /// <summary>+1 per change.</summary>
        public long Version { get; private set; }

        /// <summary>The view is frozen.</summary>
        public bool Frozen { get; private set; }

        /// <summary>Layer visibility.</summary>
        public IReadOnlyDictionary<string, bool> Layers { get; private set; }

        /// <summary>A recording is being written.</summary>
        public bool Recording { get; private set; }

        /// <summary>Probe tracking: <c>ok</c>, <c>occluded</c>, <c>lost</c>, <c>stale</c> or <c>off</c>.</summary>
        public string Tracking { get; private set; }

        /// <summary>Intent waiting for "confirm", or null.</summary>
        public string PendingConfirmation { get; private set; }

        /// <summary>When the pending intent expires (host ns), 0 when none.</summary>
        public long PendingDeadlineNs { get; private set; }

        /// <summary>The last executed command, or null.</summary>
        public LastCommand LastCommand { get; private set; }

        /// <summary>Snapshots taken.</summary>
        public long Snapshots { get; private set; }

        /// <summary>The voice front end's running noise level (dBFS), or null.</summary>
        public double? NoiseDbfs { get; private set; }

        /// <summary>The speech engine in use, or null when voice is off.</summary>
        public string VoiceEngine { get; private set; }

        /// <summary>The core's guidance loop cannot keep up (frames dropped, latency over budget); the heartbeat's
        /// <c>overlay_hz</c> is the rate it achieves. False from an older core that does not send it.</summary>
        public bool Overloaded { get; private set; }

        private StateMessage(WireMessage wire) : base(wire)
        {
        }

        /// <summary>Build from a decoded message of topic <c>state</c>.</summary>
        /// <exception cref="ProtocolException">a field is missing or has the wrong type.</exception>
        public static StateMessage FromWire(WireMessage wire)
        {
            var b = new BodyReader(wire.Body, "state body", "state");
            var m = new StateMessage(wire);
            m.Version = b.Long("version");
            m.Frozen = b.Bool("frozen");
            m.Layers = b.BoolMap("layers");
            m.Recording = b.Bool("recording");
            m.Tracking = b.String("tracking");
            m.PendingConfirmation = b.NullableString("pending_confirmation");
            m.PendingDeadlineNs = b.NullableLong("pending_deadline_ns") ?? 0;
            JsonObject last = b.NullableObject("last_command");
            if (last != null)
            {
                var l = new BodyReader(last, "state last_command", "state.last_command");
                m.LastCommand = new LastCommand(l.String("intent"), l.OptionalString("origin", ""), l.NullableLong("t_ns") ?? 0);
            }
            m.Snapshots = b.NullableLong("snapshots") ?? 0;
            m.NoiseDbfs = b.NullableDouble("noise_dbfs");
            m.VoiceEngine = b.NullableString("voice_engine");
            m.Overloaded = b.Has("overloaded") && b.Bool("overloaded");
            return m;
        }
    }
}
