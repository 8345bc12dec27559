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
    /// <c>valid_until_ns</c> covers it (see <see cref="Presentation.OverlayFreshness"/>).
    /// <para>
    /// Clock steps: a forward step of the core's clock lowers the samples, and the minimum follows at once. A backward
    /// step raises every later sample above the minimum, which would keep the old offset for a whole window (fresh
    /// overlays shown STALE for seconds); when every sample for at least <see cref="StepConfirmNs"/> (and at least
    /// <see cref="StepConfirmSamples"/> of them) lies more than <see cref="StepThresholdNs"/> above the estimate, the
    /// window restarts from those samples and <see cref="Steps"/> counts it. Delay spikes shorter than that confirmation
    /// do not move the estimate. Drift of the two clocks (±200 ppm) moves the offset by about 1.4 ms over a window,
    /// inside the 5 ms freshness margin. <see cref="MarkReconnected"/> makes the next sample start a new window (another
    /// core, or the same one restarted). Thread-safe.
    /// </para>
    /// </remarks>
    public sealed class HostClock
    {
        /// <summary>Samples kept (about 7 s of traffic at 25 Hz overlays plus 10 Hz heartbeats).</summary>
        public const int WindowSize = 256;

        /// <summary>A sample this far above the estimate (ns) counts towards a backward step of the core's clock.</summary>
        public const long StepThresholdNs = 50000000L;

        /// <summary>How long (local ns) every sample must stay above the threshold before a backward step is accepted.</summary>
        public const long StepConfirmNs = 500000000L;

        /// <summary>The fewest samples that confirm a backward step.</summary>
        public const int StepConfirmSamples = 5;

        private readonly object _lock = new object();
        private readonly long[] _samples = new long[WindowSize];
        private readonly long[] _above = new long[WindowSize];
        private int _next;
        private int _filled;
        private long _offset;
        private int _aboveCount;
        private long _aboveSinceLocalNs;
        private bool _restartOnNext;
        private long _steps;

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

        /// <summary>Clock steps of the core seen so far (either direction, larger than <see cref="StepThresholdNs"/>).</summary>
        public long Steps
        {
            get { lock (_lock) return _steps; }
        }

        /// <summary>
        /// How far host "now" may lie below the truth (ns): the window's median sample minus its minimum, the typical
        /// one-way delay above the fastest one; 0 before two samples.
        /// </summary>
        public long UncertaintyNs
        {
            get
            {
                lock (_lock)
                {
                    if (_filled < 2)
                    {
                        return 0;
                    }
                    var copy = new long[_filled];
                    Array.Copy(_samples, copy, _filled);
                    Array.Sort(copy);
                    return copy[_filled / 2] - copy[0];
                }
            }
        }

        /// <summary>The link was re-established: the next sample starts a new window.</summary>
        public void MarkReconnected()
        {
            lock (_lock) _restartOnNext = true;
        }

        /// <summary>Record a message received at local time <paramref name="localReceiveNs"/> stamped <paramref name="hostPublishNs"/>.</summary>
        public void Observe(long localReceiveNs, long hostPublishNs)
        {
            long sample = localReceiveNs - hostPublishNs;
            lock (_lock)
            {
                if (_restartOnNext)
                {
                    _restartOnNext = false;
                    Clear();
                }
                if (_filled > 0 && sample > _offset + StepThresholdNs)
                {
                    if (_aboveCount == 0)
                    {
                        _aboveSinceLocalNs = localReceiveNs;
                    }
                    _above[_aboveCount % WindowSize] = sample;
                    _aboveCount++;
                    if (_aboveCount >= StepConfirmSamples && localReceiveNs - _aboveSinceLocalNs >= StepConfirmNs)
                    {
                        // the core's clock stepped back: restart the window from the samples since the step
                        int n = Math.Min(_aboveCount, WindowSize);
                        var since = new long[n];
                        Array.Copy(_above, since, n);
                        Clear();
                        foreach (long x in since)
                        {
                            Add(x);
                        }
                        _steps++;
                        return;
                    }
                }
                else
                {
                    _aboveCount = 0;
                }
                long before = _offset;
                bool had = _filled > 0;
                Add(sample);
                if (had && before - _offset > StepThresholdNs)
                {
                    _steps++; // forward step: the minimum followed at once
                }
            }
        }

        private void Add(long sample)
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

        private void Clear()
        {
            _filled = 0;
            _next = 0;
            _offset = 0;
            _aboveCount = 0;
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

        /// <summary>Forget every sample now (host time unknown until the next message).</summary>
        public void Reset()
        {
            lock (_lock)
            {
                Clear();
                _restartOnNext = false;
            }
        }
    }
}
