using UnityEngine;

namespace Sonoguide.Runtime
{
    /// <summary>Logs the first few occurrences of a recurring problem, then every hundredth, so the console never floods.</summary>
    internal sealed class RateLimitedLog
    {
        private readonly Object _context;
        private long _count;

        internal RateLimitedLog(Object context)
        {
            _context = context;
        }

        internal void Warning(string message)
        {
            _count++;
            if (_count <= 5 || _count % 100 == 0)
            {
                Debug.LogWarning("[sonoguide] " + message + (_count > 5 ? " (" + _count + " so far)" : string.Empty), _context);
            }
        }
    }
}
