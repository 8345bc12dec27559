using System.Collections.Generic;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// The needle layer of an overlay (PROTOCOL.md, overlay field <c>needle</c>:
    /// <c>{"validity", "tip_px", "entry_px", "angle_deg", "proximity", "tip_distance_mm", "trajectory_distance_mm", "trajectory"}</c>).
    /// </summary>
    public sealed class NeedleOverlay
    {
        /// <summary>Detection validity as sent (<c>ok</c>, <c>uncertain</c>, <c>lost</c>, ...).</summary>
        public string Validity { get; }

        /// <summary>True only for <c>validity == "ok"</c>; anything else is drawn as unsure.</summary>
        public bool IsCertain
        {
            get { return Validity == "ok"; }
        }

        /// <summary>Tip in image pixels <c>[x, y]</c>, or null.</summary>
        public double[] TipPx { get; }

        /// <summary>Where the shaft enters the image <c>[x, y]</c>, or null.</summary>
        public double[] EntryPx { get; }

        /// <summary>Angle below the image horizontal (degrees), or null.</summary>
        public double? AngleDeg { get; }

        /// <summary>Proximity as sent.</summary>
        public string ProximityText { get; }

        /// <summary>Parsed proximity; unknown strings become <see cref="Messages.Proximity.Unknown"/>.</summary>
        public Proximity Proximity { get; }

        /// <summary>Tip distance to the nearest structure per class (mm), null where none.</summary>
        public IReadOnlyDictionary<string, double?> TipDistanceMm { get; }

        /// <summary>Distance of the extrapolated trajectory per class (mm), null where it misses.</summary>
        public IReadOnlyDictionary<string, double?> TrajectoryDistanceMm { get; }

        /// <summary>The trajectory <c>[tip_x, tip_y, end_x, end_y]</c> in image pixels (the <c>(2, 2) &lt;f4</c> array), or null.</summary>
        public float[] TrajectoryPx { get; }

        internal NeedleOverlay(string validity, double[] tip, double[] entry, double? angle, string proximity,
                               Dictionary<string, double?> tipDistance, Dictionary<string, double?> trajectoryDistance, float[] trajectory)
        {
            Validity = validity;
            TipPx = tip;
            EntryPx = entry;
            AngleDeg = angle;
            ProximityText = proximity;
            Proximity = ValidityText.ParseProximity(proximity);
            TipDistanceMm = tipDistance;
            TrajectoryDistanceMm = trajectoryDistance;
            TrajectoryPx = trajectory;
        }
    }
}
