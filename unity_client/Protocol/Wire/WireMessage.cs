using System.Collections.Generic;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Wire
{
    /// <summary>
    /// A decoded multipart message <c>[topic, header, *binary frames]</c> (PROTOCOL.md, "Message framing"),
    /// validated as <c>decode</c> in <c>ar_bridge/schema.py</c> does but not yet typed by topic
    /// (see <see cref="Messages.MessageParser"/>).
    /// </summary>
    public sealed class WireMessage
    {
        private readonly Dictionary<string, WireArray> _byName;

        /// <summary>The topic frame (ASCII), e.g. <c>overlay</c>.</summary>
        public string Topic { get; }

        /// <summary>The header's <c>schema</c> string.</summary>
        public string Schema { get; }

        /// <summary>The parsed <see cref="Schema"/>.</summary>
        public SchemaName SchemaName { get; }

        /// <summary>Per-topic sequence number (+1 per message; a gap means loss).</summary>
        public long Seq { get; }

        /// <summary>Host <c>time.time_ns()</c> when the source data was captured (Unix epoch, ns).</summary>
        public long TCaptureNs { get; }

        /// <summary>Host <c>time.time_ns()</c> when the message was handed to the socket.</summary>
        public long TPublishNs { get; }

        /// <summary>The whole header object (for fields added after this client was written).</summary>
        public JsonObject Header { get; }

        /// <summary>The topic's fields.</summary>
        public JsonObject Body { get; }

        /// <summary>The binary arrays in frame order.</summary>
        public IReadOnlyList<WireArray> Arrays { get; }

        /// <summary>Assemble a message (used by <see cref="WireDecoder"/>).</summary>
        public WireMessage(string topic, string schema, long seq, long tCaptureNs, long tPublishNs,
                           JsonObject header, JsonObject body, IList<WireArray> arrays)
        {
            Topic = topic;
            Schema = schema;
            SchemaName = SchemaName.Parse(schema);
            Seq = seq;
            TCaptureNs = tCaptureNs;
            TPublishNs = tPublishNs;
            Header = header;
            Body = body;
            var list = new List<WireArray>(arrays);
            Arrays = list;
            _byName = new Dictionary<string, WireArray>(System.StringComparer.Ordinal);
            foreach (var a in list)
            {
                if (_byName.ContainsKey(a.Name))
                {
                    throw new ProtocolException("array name '" + a.Name + "' appears twice in the header's arrays");
                }
                _byName[a.Name] = a;
            }
        }

        /// <summary>The array called <paramref name="name"/>, if present.</summary>
        public bool TryGetArray(string name, out WireArray array)
        {
            if (name == null)
            {
                array = null;
                return false;
            }
            return _byName.TryGetValue(name, out array);
        }

        /// <summary>The array called <paramref name="name"/>.</summary>
        /// <exception cref="ProtocolException">absent; the message names the field that referenced it.</exception>
        public WireArray GetArray(string name, string referencedBy)
        {
            WireArray a;
            if (!TryGetArray(name, out a))
            {
                throw new ProtocolException(Topic + " field '" + referencedBy + "' names array '" + name + "' but no such binary frame was sent");
            }
            return a;
        }
    }
}
