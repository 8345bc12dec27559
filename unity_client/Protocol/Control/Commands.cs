using System;
using System.Collections.Generic;

namespace Sonoguide.Protocol.Control
{
    /// <summary>
    /// The control channel's commands (PROTOCOL.md, "Control channel"): the voice intents of <c>voice/intents.py</c> plus
    /// <c>ping</c>, <c>get_state</c> and <c>get_stats</c>. Case and extra spaces are ignored by the core.
    /// </summary>
    public static class Commands
    {
        /// <summary>The voice intents, in the core's order.</summary>
        public static readonly string[] Intents =
        {
            "freeze", "unfreeze", "show nerve", "hide nerve", "show vessel", "hide vessel", "show needle", "hide needle",
            "show all", "hide all", "snapshot", "start recording", "stop recording", "confirm", "cancel",
        };

        /// <summary>Service commands besides the intents.</summary>
        public static readonly string[] Service = { "ping", "get_state", "get_stats" };

        private static readonly HashSet<string> Known = new HashSet<string>(StringComparer.Ordinal);

        static Commands()
        {
            foreach (var c in Intents) Known.Add(c);
            foreach (var c in Service) Known.Add(c);
        }

        /// <summary>Lower case with single spaces, as the core normalises it.</summary>
        public static string Normalise(string command)
        {
            if (command == null)
            {
                return string.Empty;
            }
            var parts = command.Trim().ToLowerInvariant().Split(new[] { ' ', '\t', '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries);
            return string.Join(" ", parts);
        }

        /// <summary>True when the core knows <paramref name="command"/> (after normalising).</summary>
        public static bool IsKnown(string command)
        {
            return Known.Contains(Normalise(command));
        }
    }
}
