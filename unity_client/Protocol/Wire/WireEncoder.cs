using System;
using System.Collections.Generic;
using System.Text;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Wire
{
    /// <summary>
    /// Builds multipart messages <c>[topic, header, *binary frames]</c> in the wire format
    /// (PROTOCOL.md, "Message framing"), like <c>encode</c> in <c>ar_bridge/schema.py</c>.
    /// The headset uses it for the audio stream (PROTOCOL.md, "Headset audio").
    /// </summary>
    public static class WireEncoder
    {
        /// <summary>Serialise a message.</summary>
        /// <exception cref="ArgumentException">a topic that is not plain ASCII.</exception>
        public static List<byte[]> Encode(string topic, string schema, long seq, long tCaptureNs, long tPublishNs,
                                          JsonObject body, IList<WireArray> arrays)
        {
            if (string.IsNullOrEmpty(topic))
            {
                throw new ArgumentException("topic must not be empty", "topic");
            }
            foreach (char c in topic)
            {
                if (c > 0x7F)
                {
                    throw new ArgumentException("topic must be ASCII", "topic");
                }
            }
            SchemaName.Parse(schema);
            var specs = new JsonArray();
            var frames = new List<byte[]>(2 + (arrays == null ? 0 : arrays.Count));
            frames.Add(Encoding.ASCII.GetBytes(topic));
            frames.Add(null); // header, filled below
            if (arrays != null)
            {
                foreach (var a in arrays)
                {
                    var shape = new JsonArray();
                    foreach (int d in a.Shape) shape.Add(JsonValue.From((long)d));
                    specs.Add(new JsonObject().Set("name", JsonValue.From(a.Name))
                                              .Set("dtype", JsonValue.From(a.DtypeText))
                                              .Set("shape", shape));
                    frames.Add(a.Data);
                }
            }
            var header = new JsonObject()
                .Set("schema", JsonValue.From(schema))
                .Set("seq", JsonValue.From(seq))
                .Set("t_capture_ns", JsonValue.From(tCaptureNs))
                .Set("t_publish_ns", JsonValue.From(tPublishNs))
                .Set("arrays", specs)
                .Set("body", body ?? new JsonObject());
            frames[1] = JsonWriter.WriteUtf8(header);
            return frames;
        }
    }
}
