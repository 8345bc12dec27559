using System.Globalization;
using Sonoguide.Protocol.Messages;

namespace Sonoguide.Protocol.Presentation
{
    /// <summary>Whether an overlay may be shown as current.</summary>
    public enum Freshness
    {
        /// <summary>within its validity and the link is up: draw normally</summary>
        Current,
        /// <summary>past <c>valid_until_ns</c>, link down, or no host time yet: grey it out and label it STALE</summary>
        Stale,
    }

    /// <summary>Why an overlay is stale.</summary>
    public enum StaleReason
    {
        /// <summary>not stale</summary>
        None,
        /// <summary>host time is past <c>valid_until_ns</c> (minus the safety margin)</summary>
        Expired,
        /// <summary>the heartbeat stopped: the link is down or not yet up</summary>
        LinkDown,
        /// <summary>no message gave the host clock yet</summary>
        NoClock,
    }

    /// <summary>The verdict on one overlay at one instant.</summary>
    public struct FreshnessVerdict
    {
        /// <summary>current or stale</summary>
        public readonly Freshness Freshness;
        /// <summary>why stale</summary>
        public readonly StaleReason Reason;
        /// <summary>host now minus the overlay's capture time (ns); 0 when unknown</summary>
        public readonly long AgeNs;

        /// <summary>Create a verdict.</summary>
        public FreshnessVerdict(Freshness freshness, StaleReason reason, long ageNs)
        {
            Freshness = freshness;
            Reason = reason;
            AgeNs = ageNs;
        }

        /// <summary>True when current.</summary>
        public bool IsCurrent
        {
            get { return Freshness == Freshness.Current; }
        }

        /// <summary>Text for the STALE label, e.g. <c>STALE 0.6 s (link down)</c>; empty when current.</summary>
        public string Label
        {
            get
            {
                if (IsCurrent)
                {
                    return string.Empty;
                }
                string why = Reason == StaleReason.LinkDown ? "link down" : Reason == StaleReason.NoClock ? "no data" : "expired";
                if (AgeNs <= 0)
                {
                    return "STALE (" + why + ")";
                }
                return string.Format(CultureInfo.InvariantCulture, "STALE {0:F1} s ({1})", AgeNs / 1e9, why);
            }
        }
    }

    /// <summary>
    /// The staleness rule (PROTOCOL.md, overlay field <c>valid_until_ns</c>: after this time the overlay must be shown as
    /// stale, never as current; topic <c>heartbeat</c>: with the link down every overlay is stale).
    /// </summary>
    /// <remarks>
    /// A frozen overlay follows the same rule: while frozen the core keeps sending the held content with a fresh
    /// <c>valid_until_ns</c> from each live frame, so it stays current (with a FROZEN badge) only while the core is
    /// alive and sending; if messages stop, the held content turns stale like any other.
    /// </remarks>
    public static class OverlayFreshness
    {
        /// <summary>Default safety margin: an overlay turns stale this long before <c>valid_until_ns</c> (covers the clock estimate's bias).</summary>
        public const long DefaultMarginNs = 5000000L;

        /// <summary>True only when the link is up and host time is before <c>valid_until_ns</c> − <paramref name="marginNs"/>.</summary>
        public static bool IsCurrent(OverlayMessage overlay, long hostNowNs, bool linkUp, long marginNs = DefaultMarginNs)
        {
            return Evaluate(overlay, hostNowNs, linkUp, true, marginNs).IsCurrent;
        }

        /// <summary>The full verdict.</summary>
        /// <param name="overlay">the overlay to judge.</param>
        /// <param name="hostNowNs">now on the core's clock (see <see cref="Link.HostClock"/>).</param>
        /// <param name="linkUp">the heartbeat monitor says the link is up.</param>
        /// <param name="hostClockKnown">false before any message set the clock; then <paramref name="hostNowNs"/> is ignored.</param>
        /// <param name="marginNs">safety margin before <c>valid_until_ns</c>.</param>
        public static FreshnessVerdict Evaluate(OverlayMessage overlay, long hostNowNs, bool linkUp, bool hostClockKnown,
                                                long marginNs = DefaultMarginNs)
        {
            if (!hostClockKnown)
            {
                return new FreshnessVerdict(Freshness.Stale, StaleReason.NoClock, 0);
            }
            long age = hostNowNs - overlay.TCaptureNs;
            if (!linkUp)
            {
                return new FreshnessVerdict(Freshness.Stale, StaleReason.LinkDown, age);
            }
            if (hostNowNs >= overlay.ValidUntilNs - marginNs)
            {
                return new FreshnessVerdict(Freshness.Stale, StaleReason.Expired, age);
            }
            return new FreshnessVerdict(Freshness.Current, StaleReason.None, age);
        }
    }
}
