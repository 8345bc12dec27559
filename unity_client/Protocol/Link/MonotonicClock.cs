using System.Diagnostics;

namespace Sonoguide.Protocol.Link
{
    /// <summary>The headset's monotonic clock in nanoseconds (never jumps with wall-clock changes).</summary>
    public static class MonotonicClock
    {
        private static readonly long Frequency = Stopwatch.Frequency;

        /// <summary>Nanoseconds since an arbitrary fixed start.</summary>
        public static long NowNs()
        {
            long ticks = Stopwatch.GetTimestamp();
            long seconds = ticks / Frequency;
            long rest = ticks % Frequency;
            return seconds * 1000000000L + rest * 1000000000L / Frequency;
        }
    }
}
