using System;
using System.Collections.Generic;

namespace Sonoguide.Protocol.Audio
{
    /// <summary>
    /// Converts a mono stream between sample rates (e.g. a 48 kHz headset microphone to the core's 16 kHz) by band-limited
    /// interpolation with a windowed sinc (Smith and Gossett, "A flexible sampling-rate conversion method", ICASSP 1984;
    /// J. O. Smith, "Digital Audio Resampling"), low-pass filtering at the lower Nyquist frequency so that speech above it does
    /// not alias. Streaming: feed chunks of any size, get every output sample that the input so far determines.
    /// </summary>
    public sealed class StreamingResampler
    {
        /// <summary>Zero crossings of the sinc on each side (filter length ≈ 2 × this / cutoff input samples).</summary>
        public const int ZeroCrossings = 8;

        private readonly double _step;
        private readonly double _cutoff;
        private readonly double _half;
        private readonly bool _passThrough;
        private readonly List<float> _buffer = new List<float>();
        private long _bufferStart;
        private double _t;

        /// <summary>Input rate (Hz).</summary>
        public int InputRate { get; }

        /// <summary>Output rate (Hz).</summary>
        public int OutputRate { get; }

        /// <summary>Create a resampler from <paramref name="inputRate"/> to <paramref name="outputRate"/>.</summary>
        public StreamingResampler(int inputRate, int outputRate)
        {
            if (inputRate < 1000 || outputRate < 1000 || inputRate > 384000 || outputRate > 384000)
            {
                throw new ArgumentOutOfRangeException("inputRate", "sample rates must be 1 kHz..384 kHz");
            }
            InputRate = inputRate;
            OutputRate = outputRate;
            _passThrough = inputRate == outputRate;
            _step = (double)inputRate / outputRate;
            // Cut-off as a fraction of the input Nyquist frequency, a little below the output Nyquist to leave a transition band.
            _cutoff = Math.Min(1.0, (double)outputRate / inputRate) * 0.92;
            _half = ZeroCrossings / _cutoff;
        }

        /// <summary>Feed <paramref name="count"/> samples from <paramref name="offset"/>; returns the output samples now available.</summary>
        public float[] Process(float[] input, int offset, int count)
        {
            if (_passThrough)
            {
                var copy = new float[count];
                Array.Copy(input, offset, copy, 0, count);
                return copy;
            }
            for (int i = 0; i < count; i++) _buffer.Add(input[offset + i]);
            var output = new List<float>((int)(count / _step) + 2);
            long lastIndex = _bufferStart + _buffer.Count - 1;
            while (_t + _half <= lastIndex)
            {
                output.Add(Interpolate(_t));
                _t += _step;
            }
            long keepFrom = (long)Math.Floor(_t - _half) - 1;
            int drop = (int)Math.Max(0, Math.Min(_buffer.Count, keepFrom - _bufferStart));
            if (drop > 0)
            {
                _buffer.RemoveRange(0, drop);
                _bufferStart += drop;
            }
            return output.ToArray();
        }

        /// <summary>Feed all of <paramref name="input"/>.</summary>
        public float[] Process(float[] input)
        {
            return Process(input, 0, input.Length);
        }

        private float Interpolate(double t)
        {
            long kLo = Math.Max(_bufferStart, (long)Math.Ceiling(t - _half));
            long kHi = Math.Min(_bufferStart + _buffer.Count - 1, (long)Math.Floor(t + _half));
            double sum = 0;
            for (long k = kLo; k <= kHi; k++)
            {
                double d = t - k;
                sum += _buffer[(int)(k - _bufferStart)] * Kernel(d);
            }
            return (float)sum;
        }

        private double Kernel(double d)
        {
            double u = d / _half;
            if (u <= -1.0 || u >= 1.0)
            {
                return 0.0;
            }
            double x = _cutoff * d;
            double sinc = Math.Abs(x) < 1e-12 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);
            double hann = 0.5 * (1.0 + Math.Cos(Math.PI * u));
            return _cutoff * sinc * hann;
        }
    }
}
