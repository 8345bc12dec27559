using System;
using System.Collections.Generic;
using System.Globalization;
using Sonoguide.Protocol.Link;
using Sonoguide.Protocol.Messages;

namespace Sonoguide.Protocol.Presentation
{
    /// <summary>How a HUD line is coloured.</summary>
    public enum HudSeverity
    {
        /// <summary>neutral information</summary>
        Info,
        /// <summary>all is well</summary>
        Ok,
        /// <summary>attention</summary>
        Warning,
        /// <summary>the overlay cannot be trusted right now</summary>
        Alarm,
    }

    /// <summary>One line of the status HUD.</summary>
    public struct HudLine
    {
        /// <summary>The text (ASCII, so any font renders it).</summary>
        public readonly string Text;

        /// <summary>Its severity.</summary>
        public readonly HudSeverity Severity;

        /// <summary>Create a line.</summary>
        public HudLine(string text, HudSeverity severity)
        {
            Text = text;
            Severity = severity;
        }

        /// <inheritdoc />
        public override string ToString()
        {
            return Severity + ": " + Text;
        }
    }

    /// <summary>What the HUD is built from.</summary>
    public sealed class HudInputs
    {
        /// <summary>Link state from the heartbeat monitor.</summary>
        public LinkState Link;
        /// <summary>The endpoint the client connects to (shown while connecting).</summary>
        public string Endpoint = "";
        /// <summary>Reconnects so far.</summary>
        public long Reconnects;
        /// <summary>The latest guidance state, or null.</summary>
        public StateMessage State;
        /// <summary>A heartbeat announced a newer state than <see cref="State"/>.</summary>
        public bool StateOutdated;
        /// <summary>The latest voice decision, or null.</summary>
        public VoiceMessage Voice;
        /// <summary>Local receive time of <see cref="Voice"/> (ns).</summary>
        public long VoiceLocalNs;
        /// <summary>Local now (ns).</summary>
        public long LocalNowNs;
        /// <summary>Host now (ns), valid when <see cref="HostClockKnown"/>.</summary>
        public long HostNowNs;
        /// <summary>A message has set the host clock.</summary>
        public bool HostClockKnown;
        /// <summary>How long a voice decision stays on the HUD (s).</summary>
        public double VoiceShownS = 5.0;
        /// <summary>The headset tracks its own pose in the room; false: no overlay can be pinned to the patient.</summary>
        public bool HeadsetTracked = true;
        /// <summary>Why no overlay is shown (e.g. <see cref="OverlayView.RemovedReason"/>); empty when one is.</summary>
        public string OverlayNotice = "";
        /// <summary>The core's control channel from the latest heartbeat (<c>up</c>, <c>restarting</c>, <c>down</c>), or null.</summary>
        public string Control;
        /// <summary>Overlays per second the core achieves (latest heartbeat), or a negative number when unknown.</summary>
        public double OverlayHz = -1;
    }

    /// <summary>
    /// The status HUD's text: link, the headset's own tracking and why no overlay is shown, probe tracking, freeze, recording,
    /// pending confirmation ("say confirm to hide all") and the last voice decision (PROTOCOL.md, topics <c>state</c>, <c>heartbeat</c> and <c>voice</c>).
    /// </summary>
    public static class HudModel
    {
        /// <summary>The lines to show, most important first.</summary>
        public static List<HudLine> Build(HudInputs h)
        {
            var lines = new List<HudLine>();
            switch (h.Link)
            {
                case LinkState.Up:
                    lines.Add(new HudLine("LINK OK", HudSeverity.Ok));
                    break;
                case LinkState.Waiting:
                    lines.Add(new HudLine("CONNECTING " + h.Endpoint, HudSeverity.Warning));
                    break;
                default:
                    lines.Add(new HudLine("LINK DOWN - overlay stale, reconnecting" + (h.Reconnects > 0 ? " (" + h.Reconnects + ")" : ""), HudSeverity.Alarm));
                    break;
            }
            if (!h.HeadsetTracked)
            {
                lines.Add(new HudLine("HEADSET TRACKING LOST - overlay hidden", HudSeverity.Alarm));
            }
            else if (!string.IsNullOrEmpty(h.OverlayNotice))
            {
                lines.Add(new HudLine(h.OverlayNotice, HudSeverity.Alarm));
            }
            if (h.Link == LinkState.Up && h.Control != null && h.Control != "up")
            {
                lines.Add(new HudLine("COMMANDS UNAVAILABLE (core control " + h.Control + ")", HudSeverity.Warning));
            }
            var s = h.State;
            if (s != null && s.Overloaded)
            {
                lines.Add(new HudLine("CORE OVERLOADED" + (h.OverlayHz >= 0 ? string.Format(CultureInfo.InvariantCulture, " - guidance at {0:F0} Hz", h.OverlayHz) : ""),
                                      HudSeverity.Warning));
            }
            if (s != null)
            {
                lines.Add(TrackingLine(s.Tracking));
                if (s.Frozen)
                {
                    lines.Add(new HudLine("VIEW FROZEN - say \"unfreeze\"", HudSeverity.Warning));
                }
                if (s.Recording)
                {
                    lines.Add(new HudLine("REC", HudSeverity.Info));
                }
                if (!string.IsNullOrEmpty(s.PendingConfirmation))
                {
                    string left = string.Empty;
                    if (h.HostClockKnown && s.PendingDeadlineNs > 0)
                    {
                        double seconds = Math.Max(0, (s.PendingDeadlineNs - h.HostNowNs) / 1e9);
                        left = string.Format(CultureInfo.InvariantCulture, " ({0:F0} s)", Math.Ceiling(seconds));
                    }
                    lines.Add(new HudLine("Say \"confirm\" to " + s.PendingConfirmation + left, HudSeverity.Warning));
                }
                var hidden = new List<string>();
                foreach (var pair in s.Layers)
                {
                    if (!pair.Value) hidden.Add(pair.Key);
                }
                if (hidden.Count > 0)
                {
                    hidden.Sort(StringComparer.Ordinal);
                    lines.Add(new HudLine("hidden: " + string.Join(", ", hidden), HudSeverity.Info));
                }
            }
            if (h.StateOutdated)
            {
                lines.Add(new HudLine("state update pending", HudSeverity.Info));
            }
            var v = h.Voice;
            if (v != null && (h.LocalNowNs - h.VoiceLocalNs) / 1e9 <= h.VoiceShownS)
            {
                var line = VoiceLine(v);
                if (line.HasValue) lines.Add(line.Value);
            }
            return lines;
        }

        private static HudLine TrackingLine(string tracking)
        {
            switch (tracking)
            {
                case "ok": return new HudLine("PROBE TRACKED", HudSeverity.Ok);
                case "occluded": return new HudLine("PROBE OCCLUDED", HudSeverity.Warning);
                case "off": return new HudLine("PROBE TRACKING OFF", HudSeverity.Info);
                default: return new HudLine("PROBE NOT TRACKED (" + tracking + ")", HudSeverity.Alarm);
            }
        }

        private static HudLine? VoiceLine(VoiceMessage v)
        {
            string heard = string.IsNullOrEmpty(v.Text) ? string.Empty : "\"" + v.Text + "\" ";
            string intent = v.Intent ?? v.Text ?? "command";
            switch (v.Decision)
            {
                case "accepted": return new HudLine("voice: " + intent, HudSeverity.Ok);
                case "confirmed": return new HudLine("voice: confirmed " + intent, HudSeverity.Ok);
                case "awaiting_confirmation": return null; // the state's pending line already asks for "confirm"
                case "cancelled": return new HudLine("voice: cancelled " + intent, HudSeverity.Info);
                case "expired": return new HudLine("voice: confirmation expired for " + intent, HudSeverity.Info);
                case "rejected": return new HudLine("voice: ignored " + heard + "(" + (v.Reason ?? "not a command") + ")", HudSeverity.Info);
                default: return new HudLine("voice: " + v.Decision + " " + heard, HudSeverity.Info);
            }
        }
    }
}
