using System.Collections.Generic;
using System.Globalization;

namespace Sonoguide.Protocol.Control
{
    /// <summary>
    /// Matches replies to requests by id on a DEALER connection, where requests may be pipelined
    /// (PROTOCOL.md, "Control channel"; ZeroMQ Guide ch. 3, "The Asynchronous Client/Server Pattern"),
    /// and times out requests that got no reply. Thread-safe.
    /// </summary>
    public sealed class ControlRequestTracker
    {
        private readonly object _lock = new object();
        private readonly Dictionary<string, KeyValuePair<ControlRequest, long>> _pending = new Dictionary<string, KeyValuePair<ControlRequest, long>>();
        private readonly string _prefix;
        private long _next;

        /// <summary>Create a tracker; ids are <paramref name="prefix"/> followed by a counter.</summary>
        public ControlRequestTracker(string prefix = "u")
        {
            _prefix = prefix;
        }

        /// <summary>Requests waiting for a reply.</summary>
        public int PendingCount
        {
            get { lock (_lock) return _pending.Count; }
        }

        /// <summary>Create a request with a fresh id and remember it until <paramref name="deadlineNs"/> (local clock).</summary>
        public ControlRequest Create(string command, long deadlineNs)
        {
            lock (_lock)
            {
                _next++;
                var request = new ControlRequest(_prefix + _next.ToString(CultureInfo.InvariantCulture), command);
                _pending[request.Id] = new KeyValuePair<ControlRequest, long>(request, deadlineNs);
                return request;
            }
        }

        /// <summary>True while <paramref name="id"/> waits for its reply (not answered, expired or cleared).</summary>
        public bool IsPending(string id)
        {
            lock (_lock) return id != null && _pending.ContainsKey(id);
        }

        /// <summary>The request a reply answers (and forget it), or null for an unknown or already expired id.</summary>
        public ControlRequest Resolve(ControlReply reply)
        {
            if (reply.Id == null)
            {
                return null;
            }
            lock (_lock)
            {
                KeyValuePair<ControlRequest, long> entry;
                if (!_pending.TryGetValue(reply.Id, out entry))
                {
                    return null;
                }
                _pending.Remove(reply.Id);
                return entry.Key;
            }
        }

        /// <summary>Requests whose deadline passed at <paramref name="nowNs"/> (forgotten by this call).</summary>
        public List<ControlRequest> Expire(long nowNs)
        {
            var expired = new List<ControlRequest>();
            lock (_lock)
            {
                foreach (var pair in _pending)
                {
                    if (pair.Value.Value <= nowNs)
                    {
                        expired.Add(pair.Value.Key);
                    }
                }
                foreach (var r in expired) _pending.Remove(r.Id);
            }
            return expired;
        }

        /// <summary>Forget every pending request (returns them, e.g. to report them failed on reconnect).</summary>
        public List<ControlRequest> Clear()
        {
            lock (_lock)
            {
                var all = new List<ControlRequest>();
                foreach (var pair in _pending) all.Add(pair.Value.Key);
                _pending.Clear();
                return all;
            }
        }
    }
}
