using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// What every typed message carries from its header (PROTOCOL.md, "Message framing", header fields).
    /// </summary>
    public abstract class ProtocolMessage
    {
        /// <summary>The decoded wire message this was built from (header, body and arrays, including unknown fields).</summary>
        public WireMessage Wire { get; }

        /// <summary>Create from a decoded message.</summary>
        protected ProtocolMessage(WireMessage wire)
        {
            Wire = wire;
        }

        /// <summary>The topic, e.g. <c>overlay</c>.</summary>
        public string Topic
        {
            get { return Wire.Topic; }
        }

        /// <summary>The schema string, e.g. <c>sonoguide.overlay/1</c>.</summary>
        public string Schema
        {
            get { return Wire.Schema; }
        }

        /// <summary>Per-topic sequence number.</summary>
        public long Seq
        {
            get { return Wire.Seq; }
        }

        /// <summary>Host capture time of the source data (Unix epoch ns, host clock).</summary>
        public long TCaptureNs
        {
            get { return Wire.TCaptureNs; }
        }

        /// <summary>Host time the message was handed to the socket (Unix epoch ns, host clock).</summary>
        public long TPublishNs
        {
            get { return Wire.TPublishNs; }
        }
    }
}
