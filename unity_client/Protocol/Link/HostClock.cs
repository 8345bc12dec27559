using System;

namespace Sonoguide.Protocol.Link
{
    /// <summary>
    /// Maps the headset's monotonic clock onto the core's clock, in which <c>t_capture_ns</c> and <c>valid_until_ns</c>
    /// are written (PROTOCOL.md: host <c>time.time_ns()</c>, Unix epoch).
    /// </summary>
    /// <remarks>
    /// Each message gives one sample <c>local_receive − t_publish</c> = clock offset + that message's one-way delay. The
    /// smallest sample over a sliding window of <see cref="WindowSize"/> messages is the offset plus the minimum delay — the
    /// classic lower-envelope estimate used by NTP's clock filter (Mills, RFC 5905, section 10). Host "now" is therefore
    /// underestimated by at most the minimum one-way delay (about a millisecond on a LAN); a safety margin on
    /// <c>valid_until_ns</c> covers it (see <see cref="Presentation.OverlayFreshness"/>). Thread-safe.
    /// </remarks>
    public sealed class HostClock
    {
        /// <summary>Samples kept (about 7 s of traffic at 25 Hz overlays plus 10 Hz heartbeats).</summary>
        public const int WindowSize = 256;

        private readonly object _lock = new object();
        private readonly long[] _samples = new long[WindowSize];
        private int _next;
        private int _filled;
        private long _offset;

        /// <summary>True once at least one message was seen.</summary>
        public bool HasEstimate
        {
            get { lock (_lock) return _filled > 0; }
        }

        /// <summary>The current offset estimate: local minus host (ns).</summary>
        public long OffsetNs
        {
            get { lock (_lock) return _offset; }
        }

        /// <summary>Record a message received at local time <paramref name="localReceiveNs"/> stamped <paramref name="hostPublishNs"/>.</summary>
        public void Observe(long localReceiveNs, long hostPublishNs)
        {
            long sample = localReceiveNs - hostPublishNs;
            lock (_lock)
            {
                _samples[_next] = sample;
                _next = (_next + 1) % WindowSize;
                if (_filled < WindowSize)
                {
                    _filled++;
                }
                long min = long.MaxValue;
                for (int i = 0; i < _filled; i++)
                {
                    min = Math.Min(min, _samples[i]);
                }
                _offset = min;
            }
        }

        /// <summary>Host time corresponding to local time <paramref name="localNs"/>.</summary>
        /// <exception cref="InvalidOperationException">no message seen yet.</exception>
        public long ToHost(long localNs)
        {
            lock (_lock)
            {
                if (_filled == 0)
                {
                    throw new InvalidOperationException("no message from the core yet: host time unknown");
                }
                return localNs - _offset;
            }
        }

        /// <summary>Local time corresponding to host time <paramref name="hostNs"/>.</summary>
        public long ToLocal(long hostNs)
        {
            lock (_lock)
            {
                if (_filled == 0)
                {
                    throw new InvalidOperationException("no message from the core yet: host time unknown");
                }
                return hostNs + _offset;
            }
        }

        /// <summary>Forget every sample (e.g. after connecting to a different core).</summary>
        public void Reset()
        {
            lock (_lock)
            {
                _filled = 0;
                _next = 0;
                _offset = 0;
            }
        }
    }
}
