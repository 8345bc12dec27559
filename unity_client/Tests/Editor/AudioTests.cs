using System;
using NUnit.Framework;
using Sonoguide.Protocol.Audio;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>Headset audio messages (PROTOCOL.md, "Headset audio") and the resampler feeding them.</summary>
    [TestFixture]
    public class AudioTests
    {
        private static float[] Sine(double hz, int rate, int n, double amplitude = 0.5)
        {
            var s = new float[n];
            for (int i = 0; i < n; i++) s[i] = (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / rate));
            return s;
        }

        // Amplitude of the component at hz (Goertzel / single-bin DFT), over samples [from, to).
        private static double Amplitude(float[] x, double hz, int rate, int from, int to)
        {
            double re = 0, im = 0;
            for (int i = from; i < to; i++)
            {
                double phase = 2 * Math.PI * hz * i / rate;
                re += x[i] * Math.Cos(phase);
                im += x[i] * Math.Sin(phase);
            }
            return 2 * Math.Sqrt(re * re + im * im) / (to - from);
        }

        [Test]
        public void EncodesTheAudioMessageOfTheContract()
        {
            var enc = new AudioStreamEncoder();
            var pcm = new short[320];
            for (int i = 0; i < pcm.Length; i++) pcm[i] = (short)(i * 97 - 15000);
            var frames = enc.Encode(pcm, 1790000000000000000L, 1790000000020000000L);
            Assert.AreEqual(3, frames.Count);
            Assert.AreEqual("audio", System.Text.Encoding.ASCII.GetString(frames[0]));
            var msg = WireDecoder.Decode(frames);
            Assert.AreEqual("sonoguide.audio/1", msg.Schema);
            Assert.AreEqual(1, msg.Seq);
            Assert.AreEqual(1790000000000000000L, msg.TCaptureNs);
            Assert.AreEqual(16000.0, ((JsonNumber)msg.Body["sample_rate"]).AsDouble());
            Assert.AreEqual(1.0, ((JsonNumber)msg.Body["channels"]).AsDouble());
            Assert.AreEqual("pcm", msg.Arrays[0].Name);
            Assert.AreEqual("<i2", msg.Arrays[0].DtypeText);
            CollectionAssert.AreEqual(new[] { 320 }, msg.Arrays[0].Shape);
            CollectionAssert.AreEqual(pcm, msg.Arrays[0].ToInt16());
            Assert.AreEqual(640, frames[2].Length, "little-endian int16 bytes");
            Assert.AreEqual(pcm[0] & 0xFF, frames[2][0]);
            Assert.AreEqual(2, WireDecoder.Decode(enc.Encode(pcm, 0, 0)).Seq, "+1 per message");
        }

        [Test]
        public void EncoderWritesTheGoldenAudioMessageByteForByte()
        {
            // Tests/Golden/audio.upstream: the core's reference encoder, sequence 1, samples i * 97 - 15000
            var golden = GoldenFiles.Upstream("audio");
            var pcm = new short[320];
            for (int i = 0; i < pcm.Length; i++) pcm[i] = (short)(i * 97 - 15000);
            var frames = new AudioStreamEncoder().Encode(pcm, 1790000000000000000L, 1790000000020000000L);
            Assert.AreEqual(golden.Count, frames.Count, "frames");
            Assert.AreEqual(System.Text.Encoding.UTF8.GetString(golden[1]), System.Text.Encoding.UTF8.GetString(frames[1]),
                            "header JSON");
            for (int k = 0; k < frames.Count; k++)
            {
                CollectionAssert.AreEqual(golden[k], frames[k], "frame " + k);
            }
        }

        [Test]
        public void RefusesChunksOutsideTwentyToHundredMilliseconds()
        {
            var enc = new AudioStreamEncoder();
            Assert.Throws<ArgumentException>(() => enc.Encode(new short[319], 0, 0));
            Assert.Throws<ArgumentException>(() => enc.Encode(new short[1601], 0, 0));
            Assert.DoesNotThrow(() => enc.Encode(new short[1600], 0, 0));
        }

        [Test]
        public void FloatToPcmRoundsAndClips()
        {
            var pcm = Pcm16.FromFloat(new[] { 0f, 1f, -1f, 2f, -3f, 0.5f, float.NaN });
            CollectionAssert.AreEqual(new short[] { 0, 32767, -32767, 32767, -32767, 16384, 0 }, pcm);
        }

        [TestCase(48000)]
        [TestCase(44100)]
        [TestCase(32000)]
        public void ResamplingKeepsSpeechBandTones(int rate)
        {
            var r = new StreamingResampler(rate, 16000);
            var input = Sine(1000, rate, rate); // one second of 1 kHz
            var output = r.Process(input);
            Assert.AreEqual(16000, output.Length, 40, "one second in, about one second out");
            double a = Amplitude(output, 1000, 16000, 1000, 15000);
            Assert.AreEqual(0.5, a, 0.01, "1 kHz passes with its amplitude");
            Assert.Less(Amplitude(output, 1500, 16000, 1000, 15000), 0.005, "no energy appears elsewhere");
        }

        [Test]
        public void ResamplingRemovesToneAboveTheNewNyquistInsteadOfAliasingIt()
        {
            var r = new StreamingResampler(48000, 16000);
            var output = r.Process(Sine(10000, 48000, 48000)); // 10 kHz would alias to 6 kHz at 16 kHz
            double aliased = Amplitude(output, 6000, 16000, 1000, 15000);
            Assert.Less(aliased, 0.5 * 0.01, "at least 40 dB below the input");
        }

        [Test]
        public void StreamingInChunksEqualsOneShot()
        {
            var input = Sine(440, 48000, 9600);
            var whole = new StreamingResampler(48000, 16000).Process(input);
            var chunked = new StreamingResampler(48000, 16000);
            var parts = new System.Collections.Generic.List<float>();
            int[] sizes = { 1, 7, 480, 1000, 333, 2000 };
            int pos = 0, k = 0;
            while (pos < input.Length)
            {
                int n = Math.Min(sizes[k++ % sizes.Length], input.Length - pos);
                parts.AddRange(chunked.Process(input, pos, n));
                pos += n;
            }
            Assert.AreEqual(whole.Length, parts.Count);
            for (int i = 0; i < whole.Length; i++) Assert.AreEqual(whole[i], parts[i], 1e-6, "sample " + i);
        }

        [Test]
        public void SameRatePassesThrough()
        {
            var input = Sine(300, 16000, 100);
            CollectionAssert.AreEqual(input, new StreamingResampler(16000, 16000).Process(input));
        }
    }
}
