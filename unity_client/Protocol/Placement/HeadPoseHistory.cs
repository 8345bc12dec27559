using System;
using Sonoguide.Protocol.Geometry;

namespace Sonoguide.Protocol.Placement
{
    /// <summary>
    /// The headset's own head pose over the last moments, timestamped on the local monotonic clock, so an overlay can be
    /// placed with the head pose at its ultrasound frame's capture time rather than at its arrival (40-60 ms later, when
    /// the head may have turned several degrees). Thread-safe; poses are added in time order (Unity's frame loop).
    /// </summary>
    public sealed class HeadPoseHistory
    {
        private readonly object _lock = new object();
        private readonly long[] _times;
        private readonly RigidPose[] _poses;
        private int _count;
        private int _next;

        /// <summary>Create a history of <paramref name="capacity"/> poses (default 512: over 5 s at 90 Hz).</summary>
        public HeadPoseHistory(int capacity = 512)
        {
            if (capacity < 2)
            {
                throw new ArgumentException("a head-pose history needs at least 2 entries");
            }
            _times = new long[capacity];
            _poses = new RigidPose[capacity];
        }

        /// <summary>How far past the newest pose a query is still answered with it (ns; default 20 ms, two frames at 90 Hz).</summary>
        public long MaxHoldNs = 20000000L;

        /// <summary>Poses held.</summary>
        public int Count
        {
            get { lock (_lock) return _count; }
        }

        /// <summary>Add the head pose sampled at local time <paramref name="localNs"/>; an older time than the newest is ignored.</summary>
        public void Add(long localNs, RigidPose pose)
        {
            lock (_lock)
            {
                if (_count > 0 && localNs <= _times[(_next - 1 + _times.Length) % _times.Length])
                {
                    return;
                }
                _times[_next] = localNs;
                _poses[_next] = pose;
                _next = (_next + 1) % _times.Length;
                if (_count < _times.Length)
                {
                    _count++;
                }
            }
        }

        /// <summary>Forget every pose (the headset lost its own tracking: old poses are in another world frame).</summary>
        public void Clear()
        {
            lock (_lock)
            {
                _count = 0;
                _next = 0;
            }
        }

        /// <summary>
        /// The head pose at local time <paramref name="localNs"/>, interpolated between the two poses around it; false when
        /// the time lies before the oldest pose or more than <see cref="MaxHoldNs"/> after the newest.
        /// </summary>
        public bool TryAt(long localNs, out RigidPose pose)
        {
            lock (_lock)
            {
                pose = RigidPose.Identity;
                if (_count == 0)
                {
                    return false;
                }
                int cap = _times.Length;
                int oldest = (_next - _count + cap) % cap;
                int newest = (_next - 1 + cap) % cap;
                if (localNs < _times[oldest])
                {
                    return false;
                }
                if (localNs >= _times[newest])
                {
                    pose = _poses[newest];
                    return localNs - _times[newest] <= MaxHoldNs;
                }
                // binary search over the ring for the last entry at or before localNs
                int lo = 0, hi = _count - 1; // logical indices, 0 = oldest
                while (hi - lo > 1)
                {
                    int mid = (lo + hi) / 2;
                    if (_times[(oldest + mid) % cap] <= localNs) lo = mid; else hi = mid;
                }
                int a = (oldest + lo) % cap, b = (oldest + hi) % cap;
                double span = _times[b] - _times[a];
                double s = span <= 0 ? 0 : (localNs - _times[a]) / span;
                pose = RigidPose.Interpolate(_poses[a], _poses[b], s);
                return true;
            }
        }
    }
}
