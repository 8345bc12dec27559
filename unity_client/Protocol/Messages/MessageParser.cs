using System.Collections.Generic;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// Turns frames into typed messages: decode and validate (<see cref="WireDecoder"/>), check the schema against the
    /// topic and the versions this client knows, then build the topic's class.
    /// </summary>
    public static class MessageParser
    {
        /// <summary>Decode frames into an <see cref="OverlayMessage"/>, <see cref="StateMessage"/>,
        /// <see cref="HeartbeatMessage"/> or <see cref="VoiceMessage"/>.</summary>
        /// <exception cref="UnsupportedSchemaException">a schema version this client does not know.</exception>
        /// <exception cref="ProtocolException">anything else that breaks the contract.</exception>
        public static ProtocolMessage Parse(IList<byte[]> frames)
        {
            return Parse(WireDecoder.Decode(frames));
        }

        /// <summary>Type an already decoded message.</summary>
        public static ProtocolMessage Parse(WireMessage wire)
        {
            CheckSchema(wire);
            switch (wire.Topic)
            {
                case Topics.Overlay: return OverlayMessage.FromWire(wire);
                case Topics.State: return StateMessage.FromWire(wire);
                case Topics.Heartbeat: return HeartbeatMessage.FromWire(wire);
                case Topics.Voice: return VoiceMessage.FromWire(wire);
                default:
                    throw new ProtocolException("topic '" + wire.Topic + "' is not one this client knows (" + string.Join(", ", Topics.DataTopics) + ")");
            }
        }

        /// <summary>Refuse a schema whose kind differs from the topic or whose version this client does not know.</summary>
        public static void CheckSchema(WireMessage wire)
        {
            int supported = Topics.SupportedVersion(wire.Topic);
            if (supported < 0)
            {
                throw new ProtocolException("topic '" + wire.Topic + "' is not one this client knows (" + string.Join(", ", Topics.DataTopics) + ")");
            }
            if (wire.SchemaName.Kind != wire.Topic)
            {
                throw new ProtocolException("topic '" + wire.Topic + "' carries schema '" + wire.Schema + "'; expected " + SchemaName.Format(wire.Topic, supported));
            }
            if (wire.SchemaName.Version != supported)
            {
                throw new UnsupportedSchemaException(wire.Schema,
                    "schema '" + wire.Schema + "' is not supported by this client, which reads " + SchemaName.Format(wire.Topic, supported)
                    + "; update the org.sonoguide.client package to match the core");
            }
        }
    }
}
