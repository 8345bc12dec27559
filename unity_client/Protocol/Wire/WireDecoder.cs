using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Wire
{
    /// <summary>
    /// Decodes a multipart message <c>[topic, header, *binary frames]</c> and validates it against the
    /// wire contract (PROTOCOL.md, "Message framing"), mirroring <c>decode</c> in <c>ar_bridge/schema.py</c>.
    /// </summary>
    public static class WireDecoder
    {
        /// <summary>Largest header accepted (bytes), as <c>MAX_HEADER_BYTES</c> in schema.py.</summary>
        public const int MaxHeaderBytes = 1 << 20;

        /// <summary>Decode and validate one message.</summary>
        /// <param name="frames">the frames as received; frame 0 the topic, frame 1 the header.</param>
        /// <exception cref="ProtocolException">the message breaks the contract; the text names the part.</exception>
        public static WireMessage Decode(IList<byte[]> frames)
        {
            if (frames == null || frames.Count < 2)
            {
                int n = frames == null ? 0 : frames.Count;
                throw new ProtocolException("expected [topic, header, *arrays], got " + n.ToString(CultureInfo.InvariantCulture) + " frame(s)");
            }
            string topic = DecodeTopic(frames[0]);
            byte[] raw = frames[1] ?? new byte[0];
            if (raw.Length > MaxHeaderBytes)
            {
                throw new ProtocolException("header is " + raw.Length.ToString(CultureInfo.InvariantCulture) + " bytes, limit " + MaxHeaderBytes.ToString(CultureInfo.InvariantCulture));
            }
            JsonValue parsed;
            try
            {
                parsed = JsonReader.Parse(raw);
            }
            catch (JsonParseException exc)
            {
                throw new ProtocolException("header is not UTF-8 JSON: " + exc.Message, exc);
            }
            var header = parsed as JsonObject;
            if (header == null)
            {
                throw new ProtocolException("header must be a JSON object");
            }
            var schemaValue = header["schema"] as JsonString;
            if (schemaValue == null)
            {
                throw new ProtocolException("header field 'schema' missing or not str");
            }
            long seq = RequireInt(header, "seq");
            long tCapture = RequireInt(header, "t_capture_ns");
            long tPublish = RequireInt(header, "t_publish_ns");
            SchemaName.Parse(schemaValue.Value); // throws with the contract's wording

            var specs = ReadSpecs(header, frames.Count - 2);
            var arrays = new List<WireArray>(specs.Count);
            for (int i = 0; i < specs.Count; i++)
            {
                arrays.Add(ReadArray(specs[i], frames[i + 2] ?? new byte[0]));
            }

            JsonValue bodyValue;
            JsonObject body;
            if (!header.TryGetValue("body", out bodyValue))
            {
                body = new JsonObject();
            }
            else
            {
                body = bodyValue as JsonObject;
                if (body == null)
                {
                    throw new ProtocolException("header field 'body' must be an object");
                }
            }
            return new WireMessage(topic, schemaValue.Value, seq, tCapture, tPublish, header, body, arrays);
        }

        private static string DecodeTopic(byte[] frame)
        {
            if (frame == null)
            {
                return string.Empty;
            }
            foreach (byte b in frame)
            {
                if (b > 0x7F)
                {
                    throw new ProtocolException("topic frame is not ASCII");
                }
            }
            return Encoding.ASCII.GetString(frame);
        }

        private static long RequireInt(JsonObject header, string key)
        {
            var n = header[key] as JsonNumber;
            long v;
            if (n == null || !n.TryGetInt64(out v))
            {
                throw new ProtocolException("header field '" + key + "' missing or not int");
            }
            return v;
        }

        private static IReadOnlyList<JsonValue> ReadSpecs(JsonObject header, int binaryFrames)
        {
            JsonValue value;
            if (!header.TryGetValue("arrays", out value))
            {
                value = new JsonArray();
            }
            var list = value as JsonArray;
            if (list == null || list.Count != binaryFrames)
            {
                string described = list == null ? "?" : list.Count.ToString(CultureInfo.InvariantCulture);
                throw new ProtocolException("header describes " + described + " arrays but " + binaryFrames.ToString(CultureInfo.InvariantCulture) + " binary frames follow");
            }
            return list.Items;
        }

        private static WireArray ReadArray(JsonValue specValue, byte[] data)
        {
            var spec = specValue as JsonObject;
            var name = spec == null ? null : spec["name"] as JsonString;
            var dtype = spec == null ? null : spec["dtype"] as JsonString;
            var shapeList = spec == null ? null : spec["shape"] as JsonArray;
            if (name == null || dtype == null || shapeList == null)
            {
                throw new ProtocolException("bad array spec " + JsonWriter.Write(specValue) + ": needs string 'name', string 'dtype' and list 'shape'");
            }
            var shape = new int[shapeList.Count];
            for (int i = 0; i < shape.Length; i++)
            {
                var dim = shapeList[i] as JsonNumber;
                long d;
                if (dim == null || !dim.TryGetInt64(out d) || d < 0 || d > int.MaxValue)
                {
                    throw new ProtocolException("bad array spec " + JsonWriter.Write(specValue) + ": shape entries must be non-negative integers");
                }
                shape[i] = (int)d;
            }
            return new WireArray(name.Value, dtype.Value, shape, data);
        }
    }
}
