using System;
using System.Collections.Generic;
using System.Text;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>Builds variants of the golden messages for malformed-message and behaviour tests.</summary>
    public static class TestMessages
    {
        /// <summary>Golden frames of <paramref name="name"/> with the header rewritten by <paramref name="edit"/>.</summary>
        public static List<byte[]> WithHeader(string name, Action<JsonObject> edit)
        {
            var frames = GoldenFiles.Frames(name);
            var header = (JsonObject)JsonReader.Parse(frames[1]);
            edit(header);
            frames[1] = JsonWriter.WriteUtf8(header);
            return frames;
        }

        /// <summary>Golden frames with the body rewritten.</summary>
        public static List<byte[]> WithBody(string name, Action<JsonObject> edit)
        {
            return WithHeader(name, h => edit((JsonObject)h["body"]));
        }

        /// <summary>The header's array spec called <paramref name="arrayName"/>.</summary>
        public static JsonObject Spec(JsonObject header, string arrayName)
        {
            foreach (var v in ((JsonArray)header["arrays"]).Items)
            {
                var spec = (JsonObject)v;
                if (((JsonString)spec["name"]).Value == arrayName) return spec;
            }
            throw new ArgumentException("no array " + arrayName);
        }

        /// <summary>Index of the binary frame of <paramref name="arrayName"/> in the golden message.</summary>
        public static int FrameIndex(string name, string arrayName)
        {
            var msg = WireDecoder.Decode(GoldenFiles.Frames(name));
            for (int i = 0; i < msg.Arrays.Count; i++)
            {
                if (msg.Arrays[i].Name == arrayName) return i + 2;
            }
            throw new ArgumentException("no array " + arrayName);
        }

        /// <summary>The golden overlay, typed.</summary>
        public static OverlayMessage Overlay(string name = "overlay")
        {
            return (OverlayMessage)MessageParser.Parse(GoldenFiles.Frames(name));
        }

        /// <summary>A typed overlay from edited golden frames.</summary>
        public static OverlayMessage OverlayWithBody(Action<JsonObject> edit, string name = "overlay")
        {
            return (OverlayMessage)MessageParser.Parse(WithBody(name, edit));
        }

        /// <summary>ASCII bytes.</summary>
        public static byte[] Ascii(string s)
        {
            return Encoding.ASCII.GetBytes(s);
        }

        /// <summary>A minimal valid message of <paramref name="topic"/> with <paramref name="body"/>.</summary>
        public static List<byte[]> Minimal(string topic, string body, long seq = 1, long tPublishNs = 1000)
        {
            string header = "{\"schema\":\"sonoguide." + topic + "/1\",\"seq\":" + seq + ",\"t_capture_ns\":" + tPublishNs
                            + ",\"t_publish_ns\":" + tPublishNs + ",\"arrays\":[],\"body\":" + body + "}";
            return new List<byte[]> { Ascii(topic), Encoding.UTF8.GetBytes(header) };
        }
    }
}
