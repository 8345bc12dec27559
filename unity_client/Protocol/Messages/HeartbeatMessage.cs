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

        /// <summary>The core's control channel: <c>up</c>, <c>restarting</c> or <c>down</c> (<c>up</c> when an older core
        /// does not say). Commands are unavailable unless it is <c>up</c>.</summary>
        public string Control { get; private set; }

        /// <summary>True when the core's control channel is up.</summary>
        public bool ControlUp
        {
            get { return Control == "up"; }
        }

        /// <summary>Identifies the core clock's mapping (PROTOCOL.md, "Clock"); it changes only when a core starts, and
        /// the client then starts its clock estimate afresh. 0 from an older core.</summary>
        public long ClockOriginNs { get; private set; }

        /// <summary>Steps of the core host's wall clock seen by the core (its stamps never step).</summary>
        public long ClockSteps { get; private set; }

        /// <summary>The core host's wall clock minus the core's stamps (ns); 0 until its wall clock stepped.</summary>
        public long ClockWallStepNs { get; private set; }

        private HeartbeatMessage(WireMessage wire) : base(wire)
        {
        }

        /// <summary>Build from a decoded message of topic <c>heartbeat</c>.</summary>
        /// <exception cref="ProtocolException">a field is missing or has the wrong type.</exception>
        public static HeartbeatMessage FromWire(WireMessage wire)
        {
            var b = new BodyReader(wire.Body, "heartbeat body", "heartbeat");
            return new HeartbeatMessage(wire)
            {
                UptimeS = b.Double("uptime_s"),
                Subscribers = b.Long("subscribers"),
                OverlayHz = b.Double("overlay_hz"),
                Tracking = b.String("tracking"),
                Frozen = b.Bool("frozen"),
                StateVersion = b.Long("state_version"),
                Control = b.OptionalString("control", "up"),
                ClockOriginNs = b.OptionalLong("clock_origin_ns", 0),
                ClockSteps = b.OptionalLong("clock_steps", 0),
                ClockWallStepNs = b.OptionalLong("clock_wall_step_ns", 0),
            };
        }
    }
}
