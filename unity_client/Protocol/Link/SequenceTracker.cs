using System;
using System.Collections.Generic;

namespace Sonoguide.Protocol.Link
{
    /// <summary>What one sequence number says about the stream.</summary>
    public enum SequenceEvent
    {
        /// <summary>the first message seen on this topic (since start or reset)</summary>
        First,
        /// <summary>exactly one more than the previous one</summary>
        InOrder,
        /// <summary>larger than expected: <see cref="SequenceResult.Missed"/> messages were lost</summary>
        Gap,
        /// <summary>not larger than the previous one: the core restarted its counters</summary>
        Restart,
    }

    /// <summary>The verdict on one sequence number.</summary>
    public struct SequenceResult
    {
        /// <summary>What happened.</summary>
        public readonly SequenceEvent Event;

        /// <summary>Messages lost before this one (0 unless <see cref="SequenceEvent.Gap"/>).</summary>
        public readonly long Missed;

        /// <summary>Create a verdict.</summary>
        public SequenceResult(SequenceEvent evt, long missed)
        {
            Event = evt;
            Missed = missed;
        }
    }

    /// <summary>
    /// Gap detection for one topic (PROTOCOL.md, header field <c>seq</c>: per topic, +1 per message; a gap means messages
    /// were lost). ZeroMQ PUB/SUB drops messages silently under back-pressure, so counting is the only way to know
    /// (ZeroMQ Guide ch. 5, "Pub-Sub Message Envelopes" and the Clone pattern's sequence numbers).
    /// </summary>
    public sealed class SequenceTracker
    {
        private long _last;
        private bool _seen;

        /// <summary>Messages observed.</summary>
        public long Received { get; private set; }

        /// <summary>Messages known to be lost (sum of gaps).</summary>
        public long Lost { get; private set; }

        /// <summary>Times the sequence went backwards (core restarted).</summary>
        public long Restarts { get; private set; }

        /// <summary>The last sequence number seen, or null.</summary>
        public long? Last
        {
            get { return _seen ? _last : (long?)null; }
        }

        /// <summary>Record <paramref name="seq"/> and classify it.</summary>
        public SequenceResult Observe(long seq)
        {
            Received++;
            if (!_seen)
            {
                _seen = true;
                _last = seq;
                return new SequenceResult(SequenceEvent.First, 0);
            }
            long expected = _last + 1;
            _last = seq;
            if (seq == expected)
            {
                return new SequenceResult(SequenceEvent.InOrder, 0);
            }
            if (seq > expected)
            {
                long missed = seq - expected;
                Lost += missed;
                return new SequenceResult(SequenceEvent.Gap, missed);
            }
            Restarts++;
            return new SequenceResult(SequenceEvent.Restart, 0);
        }

        /// <summary>Forget the last number (after a reconnect the next message counts as <see cref="SequenceEvent.First"/>).</summary>
        public void Reset()
        {
            _seen = false;
        }
    }

    /// <summary>One <see cref="SequenceTracker"/> per topic.</summary>
    public sealed class SequenceBook
    {
        private readonly Dictionary<string, SequenceTracker> _trackers = new Dictionary<string, SequenceTracker>(StringComparer.Ordinal);

        /// <summary>Record a message's sequence number on its topic.</summary>
        public SequenceResult Observe(string topic, long seq)
        {
            SequenceTracker t;
            if (!_trackers.TryGetValue(topic, out t))
            {
                t = new SequenceTracker();
                _trackers[topic] = t;
            }
            return t.Observe(seq);
        }

        /// <summary>The tracker of <paramref name="topic"/>, or null before its first message.</summary>
        public SequenceTracker For(string topic)
        {
            SequenceTracker t;
            return _trackers.TryGetValue(topic, out t) ? t : null;
        }

        /// <summary>Messages lost on all topics.</summary>
        public long TotalLost
        {
            get
            {
                long n = 0;
                foreach (var t in _trackers.Values) n += t.Lost;
                return n;
            }
        }

        /// <summary>Reset every topic (keeps the counters).</summary>
        public void Reset()
        {
            foreach (var t in _trackers.Values) t.Reset();
        }
    }
}
