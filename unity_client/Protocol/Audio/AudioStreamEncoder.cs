using System;
using System.Collections.Generic;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Audio
{
    /// <summary>
    /// Encodes headset microphone audio for the core (PROTOCOL.md, "Headset audio"): <c>[b"audio", header, pcm]</c> with
    /// schema <c>sonoguide.audio/1</c>, a per-stream <c>seq</c>, <c>arrays = [{"name": "pcm", "dtype": "&lt;i2", "shape": [n]}]</c>
    /// and body <c>{"sample_rate": 16000, "channels": 1}</c>; chunks of about 20–100 ms.
    /// </summary>
    public sealed class AudioStreamEncoder
    {
        /// <summary>The sample rate the core expects (Hz).</summary>
        public const int SampleRate = 16000;

        /// <summary>Mono.</summary>
        public const int Channels = 1;

        /// <summary>Shortest chunk the contract describes (ms).</summary>
        public const int MinChunkMs = 20;

        /// <summary>Longest chunk the contract describes (ms).</summary>
        public const int MaxChunkMs = 100;

        private long _seq;

        /// <summary>Sequence number of the last chunk encoded (0 before the first).</summary>
        public long LastSeq
        {
            get { return _seq; }
        }

        /// <summary>Encode one chunk of 16 kHz mono samples.</summary>
        /// <param name="pcm">16-bit samples; 20–100 ms (320–1600 samples).</param>
        /// <param name="tCaptureHostNs">capture time of the first sample on the core's clock (see <see cref="Link.HostClock"/>).</param>
        /// <param name="tPublishHostNs">now on the core's clock.</param>
        /// <exception cref="ArgumentException">a chunk outside 20–100 ms.</exception>
        public List<byte[]> Encode(short[] pcm, long tCaptureHostNs, long tPublishHostNs)
        {
            if (pcm == null)
            {
                throw new ArgumentNullException("pcm");
            }
            int min = SampleRate * MinChunkMs / 1000, max = SampleRate * MaxChunkMs / 1000;
            if (pcm.Length < min || pcm.Length > max)
            {
                throw new ArgumentException("audio chunks must hold " + min + ".." + max + " samples (20-100 ms at 16 kHz), got " + pcm.Length, "pcm");
            }
            _seq++;
            var body = new JsonObject().Set("sample_rate", JsonValue.From((long)SampleRate)).Set("channels", JsonValue.From((long)Channels));
            var arrays = new List<WireArray> { WireArray.FromInt16("pcm", pcm, pcm.Length) };
            return WireEncoder.Encode(Topics.Audio, SchemaName.Format(Topics.Audio, 1), _seq, tCaptureHostNs, tPublishHostNs, body, arrays);
        }
    }

    /// <summary>Conversion of float samples (Unity's <c>AudioClip.GetData</c>) to 16-bit PCM.</summary>
    public static class Pcm16
    {
        /// <summary>Convert <paramref name="count"/> samples in −1..1 to 16-bit, clipping anything beyond full scale.</summary>
        public static short[] FromFloat(float[] samples, int offset, int count)
        {
            var pcm = new short[count];
            for (int i = 0; i < count; i++)
            {
                float v = samples[offset + i];
                if (float.IsNaN(v)) v = 0f;
                if (v > 1f) v = 1f;
                if (v < -1f) v = -1f;
                pcm[i] = (short)Math.Round(v * 32767f);
            }
            return pcm;
        }

        /// <summary>All of <paramref name="samples"/>.</summary>
        public static short[] FromFloat(float[] samples)
        {
            return FromFloat(samples, 0, samples.Length);
        }
    }
}
