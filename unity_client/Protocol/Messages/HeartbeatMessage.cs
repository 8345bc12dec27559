using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// The link heartbeat (PROTOCOL.md, topic <c>heartbeat</c>): missing 3 periods means the link is down
    /// (see <see cref="Link.LinkMonitor"/>).
    /// </summary>
    public sealed class HeartbeatMessage : ProtocolMessage
    {
        /// <summary>Core uptime (s).</summary>
        public double UptimeS { get; private set; }

        /// <summary>Connected subscribers.</summary>
        public long Subscribers { get; private set; }

        /// <summary>Overlay rate the core achieves (Hz).</summary>
        public double OverlayHz { get; private set; }

        /// <summary>Probe tracking status.</summary>
        public string Tracking { get; private set; }

        /// <summary>The view is frozen.</summary>
        public bool Frozen { get; private set; }

        /// <summary>The current state version; newer than the last state seen means a state message was lost.</summary>
        public long StateVersion { get; private set; }

        private HeartbeatMessage(WireMessage wire) : base(wire)
        {
        }

        /// <summary>Build from a decoded message of topic <c>heartbeat</c>.</summary>
        /// <exception cref="ProtocolException">a field is missing or has the wrong type.</exception>
        public static HeartbeatMessage FromWire(WireMessage wire)
        {
            var b = new BodyReader(wire.Body, "heartbeat body");
            return new HeartbeatMessage(wire)
            {
                UptimeS = b.Double("uptime_s"),
                Subscribers = b.Long("subscribers"),
                OverlayHz = b.Double("overlay_hz"),
                Tracking = b.String("tracking"),
                Frozen = b.Bool("frozen"),
                StateVersion = b.Long("state_version"),
            };
        }
    }
}
