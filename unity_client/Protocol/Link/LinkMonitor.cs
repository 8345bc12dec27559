using System;

namespace Sonoguide.Protocol.Link
{
    /// <summary>State of the link to the core as judged from heartbeats.</summary>
    public enum LinkState
    {
        /// <summary>connected (or connecting) but no heartbeat yet</summary>
        Waiting,
        /// <summary>heartbeats arrive</summary>
        Up,
        /// <summary>3 heartbeat periods passed without one: every overlay is stale; reconnect with back-off</summary>
        Down,
    }

    /// <summary>
    /// Heartbeat supervision (PROTOCOL.md, topic <c>heartbeat</c>: a client that misses heartbeats for 3 periods must treat
    /// the link as down; ZeroMQ Guide ch. 4, "Heartbeating").
    /// </summary>
    /// <remarks>
    /// The period is learned from the core's own <c>t_publish_ns</c> stamps of consecutive heartbeats (so network jitter does
    /// not distort it), starting from <see cref="NominalPeriodNs"/> and kept within [<see cref="MinPeriodNs"/>,
    /// <see cref="MaxPeriodNs"/>]; the contract guarantees at least 5 Hz, so the timeout never exceeds 3 × 200 ms.
    /// Timeouts are measured on the headset's own monotonic clock. Thread-safe.
    /// </remarks>
    public sealed class LinkMonitor
    {
        /// <summary>Heartbeat periods without a heartbeat after which the link is down.</summary>
        public const int MissedPeriods = 3;

        /// <summary>Shortest period accepted when learning (100 Hz, the core's upper limit).</summary>
        public const long MinPeriodNs = 10000000L;

        /// <summary>Longest period accepted (5 Hz, the contract's lower limit).</summary>
        public const long MaxPeriodNs = 200000000L;

        private readonly object _lock = new object();
        private readonly long _nominal;
        private double _periodNs;
        private bool _any;
        private long _lastLocalNs;
        private long _lastHostNs;
        private long _lastSeq;
        private long _count;

        /// <summary>Create a monitor expecting <paramref name="nominalPeriodNs"/> between heartbeats (default 100 ms, 10 Hz).</summary>
        public LinkMonitor(long nominalPeriodNs = 100000000L)
        {
            if (nominalPeriodNs < MinPeriodNs || nominalPeriodNs > MaxPeriodNs)
            {
                throw new ArgumentOutOfRangeException("nominalPeriodNs", "heartbeat period must be 10..200 ms (5..100 Hz)");
            }
            _nominal = nominalPeriodNs;
            _periodNs = nominalPeriodNs;
        }

        /// <summary>The period expected before any heartbeat was seen.</summary>
        public long NominalPeriodNs
        {
            get { return _nominal; }
        }

        /// <summary>The heartbeat period currently assumed (ns).</summary>
        public long PeriodNs
        {
            get { lock (_lock) return (long)Math.Round(_periodNs); }
        }

        /// <summary>How long without a heartbeat before the link is down: 3 periods.</summary>
        public long TimeoutNs
        {
            get { return MissedPeriods * PeriodNs; }
        }

        /// <summary>Heartbeats seen since the last <see cref="Reset"/>.</summary>
        public long Count
        {
            get { lock (_lock) return _count; }
        }

        /// <summary>Local receive time of the last heartbeat, or null.</summary>
        public long? LastHeartbeatLocalNs
        {
            get { lock (_lock) return _any ? _lastLocalNs : (long?)null; }
        }

        /// <summary>Record a heartbeat received at local time <paramref name="localReceiveNs"/>.</summary>
        /// <param name="localReceiveNs">headset monotonic clock at receipt.</param>
        /// <param name="hostPublishNs">the heartbeat's <c>t_publish_ns</c>.</param>
        /// <param name="seq">the heartbeat's <c>seq</c> (a gap of k messages spans k+1 periods).</param>
        public void OnHeartbeat(long localReceiveNs, long hostPublishNs, long seq)
        {
            lock (_lock)
            {
                if (_any && seq > _lastSeq && hostPublishNs > _lastHostNs)
                {
                    double perPeriod = (double)(hostPublishNs - _lastHostNs) / (seq - _lastSeq);
                    perPeriod = Math.Max(MinPeriodNs, Math.Min(MaxPeriodNs, perPeriod));
                    // Exponential average: one late heartbeat of a stalled core moves the estimate only a little.
                    _periodNs = _count < 2 ? perPeriod : 0.8 * _periodNs + 0.2 * perPeriod;
                }
                _any = true;
                _count++;
                _lastLocalNs = localReceiveNs;
                _lastHostNs = hostPublishNs;
                _lastSeq = seq;
            }
        }

        /// <summary>The link state at local time <paramref name="localNowNs"/>.</summary>
        public LinkState StateAt(long localNowNs)
        {
            lock (_lock)
            {
                if (!_any)
                {
                    return LinkState.Waiting;
                }
                return localNowNs - _lastLocalNs <= MissedPeriods * (long)Math.Round(_periodNs) ? LinkState.Up : LinkState.Down;
            }
        }

        /// <summary>True when the link is <see cref="LinkState.Up"/> at <paramref name="localNowNs"/>.</summary>
        public bool IsUp(long localNowNs)
        {
            return StateAt(localNowNs) == LinkState.Up;
        }

        /// <summary>Forget heartbeats (after a reconnect); the learned period is kept.</summary>
        public void Reset()
        {
            lock (_lock)
            {
                _any = false;
                _count = 0;
            }
        }
    }
}
