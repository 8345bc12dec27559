using System;

namespace Sonoguide.Protocol.Client
{
    /// <summary>
    /// Exponential back-off between reconnect attempts, with jitter so that several headsets do not reconnect in lock-step
    /// (ZeroMQ Guide ch. 4, "Robust Reliable Queuing (Paranoid Pirate Pattern)": double the interval up to a ceiling, reset
    /// it when the peer is heard again).
    /// </summary>
    public sealed class ReconnectBackoff
    {
        private readonly int _minMs;
        private readonly int _maxMs;
        private readonly Random _random;
        private int _attempt;

        /// <summary>Create a back-off from <paramref name="minMs"/> doubling up to <paramref name="maxMs"/>.</summary>
        public ReconnectBackoff(int minMs, int maxMs, int seed = 0)
        {
            if (minMs < 1 || maxMs < minMs)
            {
                throw new ArgumentOutOfRangeException("minMs", "back-off needs 1 <= min <= max");
            }
            _minMs = minMs;
            _maxMs = maxMs;
            _random = seed == 0 ? new Random() : new Random(seed);
        }

        /// <summary>Failed attempts since the last <see cref="Reset"/>.</summary>
        public int Attempt
        {
            get { return _attempt; }
        }

        /// <summary>The delay before the next attempt (ms): min · 2^attempt, capped, ±20 % jitter.</summary>
        public int NextDelayMs()
        {
            double baseMs = _minMs * Math.Pow(2.0, Math.Min(_attempt, 20));
            baseMs = Math.Min(baseMs, _maxMs);
            _attempt++;
            double jitter = 0.8 + 0.4 * _random.NextDouble();
            return (int)Math.Max(1, Math.Min(_maxMs, Math.Round(baseMs * jitter)));
        }

        /// <summary>The peer answered: start again from the minimum.</summary>
        public void Reset()
        {
            _attempt = 0;
        }
    }
}
