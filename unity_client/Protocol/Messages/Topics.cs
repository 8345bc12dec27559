namespace Sonoguide.Protocol.Messages
{
    /// <summary>Topic names and the schema versions this client understands (PROTOCOL.md, "Topics").</summary>
    public static class Topics
    {
        /// <summary>One overlay per processed ultrasound frame (~25 Hz).</summary>
        public const string Overlay = "overlay";

        /// <summary>Guidance state, on change, periodically and at once to a new subscriber.</summary>
        public const string State = "state";

        /// <summary>Link heartbeat (default 10 Hz, never below 5 Hz).</summary>
        public const string Heartbeat = "heartbeat";

        /// <summary>One message per decision of the voice front end.</summary>
        public const string Voice = "voice";

        /// <summary>Headset microphone audio (headset to core, PUSH to PULL).</summary>
        public const string Audio = "audio";

        /// <summary>Every data topic a client subscribes to.</summary>
        public static readonly string[] DataTopics = { Overlay, State, Heartbeat, Voice };

        /// <summary>The schema version of each topic this client was written for.</summary>
        public static int SupportedVersion(string topic)
        {
            switch (topic)
            {
                case Overlay:
                case State:
                case Heartbeat:
                case Voice:
                case Audio:
                    return 1;
                default:
                    return -1;
            }
        }
    }

    /// <summary>Overlay layer names (the clinician's show/hide choice; PROTOCOL.md, overlay field <c>layers</c>).</summary>
    public static class Layers
    {
        /// <summary>Nerve outlines.</summary>
        public const string Nerve = "nerve";

        /// <summary>Vessel outlines.</summary>
        public const string Vessel = "vessel";

        /// <summary>Needle and trajectory.</summary>
        public const string Needle = "needle";
    }
}
