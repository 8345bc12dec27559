using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// One decision of the voice front end (PROTOCOL.md, topic <c>voice</c>), so the headset can give feedback
    /// such as "say confirm to hide all".
    /// </summary>
    /// <remarks>
    /// Only <c>decision</c> is required; the other fields of the core's <c>VoiceEvent</c>
    /// (<c>text</c>, <c>intent</c>, <c>reason</c>, <c>confidence</c>, <c>engine</c>, <c>noise_dbfs</c>,
    /// <c>t_end_ns</c>, <c>t_event_ns</c>) are read when present.
    /// </remarks>
    public sealed class VoiceMessage : ProtocolMessage
    {
        /// <summary><c>accepted</c>, <c>rejected</c>, <c>awaiting_confirmation</c>, <c>confirmed</c>, <c>cancelled</c> or <c>expired</c>.</summary>
        public string Decision { get; private set; }

        /// <summary>What was heard, or null.</summary>
        public string Text { get; private set; }

        /// <summary>The intent it mapped to, or null.</summary>
        public string Intent { get; private set; }

        /// <summary>Why it was rejected (or other detail), or null.</summary>
        public string Reason { get; private set; }

        /// <summary>Recogniser confidence 0..1, or null.</summary>
        public double? Confidence { get; private set; }

        /// <summary>The speech engine, or null.</summary>
        public string Engine { get; private set; }

        /// <summary>Noise level at the time (dBFS), or null.</summary>
        public double? NoiseDbfs { get; private set; }

        /// <summary>End of the utterance (host ns), or null.</summary>
        public long? TEndNs { get; private set; }

        /// <summary>When the decision was made (host ns), or null.</summary>
        public long? TEventNs { get; private set; }

        private VoiceMessage(WireMessage wire) : base(wire)
        {
        }

        /// <summary>Build from a decoded message of topic <c>voice</c>.</summary>
        /// <exception cref="ProtocolException"><c>decision</c> is missing or a present field has the wrong type.</exception>
        public static VoiceMessage FromWire(WireMessage wire)
        {
            var b = new BodyReader(wire.Body, "voice body", "voice");
            return new VoiceMessage(wire)
            {
                Decision = b.String("decision"),
                Text = b.NullableString("text"),
                Intent = b.NullableString("intent"),
                Reason = b.NullableString("reason"),
                Confidence = b.NullableDouble("confidence"),
                Engine = b.NullableString("engine"),
                NoiseDbfs = b.NullableDouble("noise_dbfs"),
                TEndNs = b.NullableLong("t_end_ns"),
                TEventNs = b.NullableLong("t_event_ns"),
            };
        }
    }
}
