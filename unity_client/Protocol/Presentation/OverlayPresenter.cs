using System;
using System.Collections.Generic;
using System.Globalization;
using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Messages;

namespace Sonoguide.Protocol.Presentation
{
    /// <summary>Line widths and label choices of the overlay.</summary>
    public sealed class PresentationOptions
    {
        /// <summary>Structure outline width (m).</summary>
        public float OutlineWidthM = 0.0015f;

        /// <summary>Needle shaft width (m).</summary>
        public float NeedleWidthM = 0.002f;

        /// <summary>Trajectory width (m).</summary>
        public float TrajectoryWidthM = 0.001f;

        /// <summary>Quality below which the quality flags are shown as a badge.</summary>
        public double QualityBadgeBelow = 0.5;

        /// <summary>
        /// Stale content is removed from the room this long after its <c>valid_until_ns</c> (ns; default 1 s): a grey
        /// outline may say where the anatomy was a moment ago, never for longer. Without a host clock nothing is shown.
        /// </summary>
        public long RemoveStaleAfterNs = 1000000000L;
    }

    /// <summary>
    /// Applies the display rules of PROTOCOL.md to an overlay: nerve yellow, vessel red; <c>uncertain</c> structures dashed and
    /// translucent, never as certain; stale content grey with a STALE badge, and removed altogether
    /// <see cref="PresentationOptions.RemoveStaleAfterNs"/> after its validity (the HUD says why nothing is shown); frozen
    /// content with a FROZEN badge; the needle and its trajectory coloured by proximity (safe / caution / stop) and never
    /// drawn stale (an old needle path is a hazard, not a hint); hidden layers not drawn; nothing placed in the room without
    /// a usable pose.
    /// </summary>
    public static class OverlayPresenter
    {
        /// <summary>Build the view of <paramref name="overlay"/> under <paramref name="verdict"/>.</summary>
        public static OverlayView Present(OverlayMessage overlay, FreshnessVerdict verdict, long hostNowNs, PresentationOptions options = null)
        {
            if (overlay == null)
            {
                throw new ArgumentNullException("overlay");
            }
            options = options ?? new PresentationOptions();
            bool stale = !verdict.IsCurrent;
            string removed = RemovalReason(overlay, verdict, hostNowNs, options);
            if (removed != null)
            {
                return new OverlayView
                {
                    Overlay = overlay, Freshness = verdict, Frozen = overlay.Frozen, Placed = false, ImageCorners = null,
                    ImageTint = Palette.Stale.WithAlpha(0f), PlacementNote = string.Empty,
                    Structures = new List<PolylineView>(), NeedleShaft = null, NeedleTrajectory = null,
                    Proximity = Proximity.Unknown, ProximityLabel = string.Empty, ProximityColour = Palette.UnknownProximity,
                    Badges = new List<string> { removed }, Removed = true, RemovedReason = removed,
                };
            }
            var view = new OverlayView
            {
                Overlay = overlay,
                Freshness = verdict,
                Frozen = overlay.Frozen,
                Placed = overlay.IsPlaced,
                ImageTint = stale ? Palette.Stale.WithAlpha(0.6f) : new Rgba(1f, 1f, 1f, 1f),
            };
            var matrix = view.Placed ? overlay.TUnityFromImage : null;
            view.ImageCorners = matrix == null ? null : ImagePlane.ImageCorners(matrix, overlay.ImageWidth, overlay.ImageHeight);
            view.PlacementNote = PlacementNote(overlay);

            var structures = new List<PolylineView>();
            foreach (var s in overlay.Structures)
            {
                if (!LayerVisible(overlay, s.ClassName))
                {
                    continue;
                }
                structures.Add(StructureLine(s, matrix, stale, options));
            }
            view.Structures = structures;

            var needle = overlay.Needle;
            if (needle != null && LayerVisible(overlay, Layers.Needle) && !stale)
            {
                view.Proximity = needle.Proximity;
                Rgba colour = stale ? Palette.Stale.WithAlpha(Palette.StaleAlpha) : ProximityColour(needle.Proximity);
                view.ProximityColour = colour;
                view.ProximityLabel = stale ? string.Empty : ProximityText(needle);
                if (needle.TipPx != null && needle.EntryPx != null)
                {
                    var px = new[] { (float)needle.EntryPx[0], (float)needle.EntryPx[1], (float)needle.TipPx[0], (float)needle.TipPx[1] };
                    bool certain = needle.IsCertain && !stale;
                    view.NeedleShaft = new PolylineView
                    {
                        Key = "needle", ImagePx = px, Points = Place(matrix, px), Closed = false,
                        Colour = certain ? colour : colour.WithAlpha(Math.Min(colour.A, Palette.UncertainAlpha)),
                        Style = certain ? StrokeStyle.Solid : StrokeStyle.Dashed, WidthM = options.NeedleWidthM,
                        Label = needle.IsCertain ? string.Empty : "needle?", Class = StructureClass.Other,
                    };
                }
                if (needle.TrajectoryPx != null)
                {
                    view.NeedleTrajectory = new PolylineView
                    {
                        Key = "trajectory", ImagePx = needle.TrajectoryPx, Points = Place(matrix, needle.TrajectoryPx), Closed = false,
                        Colour = colour.WithAlpha(Math.Min(colour.A, 0.8f)), Style = StrokeStyle.Dashed,
                        WidthM = options.TrajectoryWidthM, Label = string.Empty, Class = StructureClass.Other,
                    };
                }
            }
            else
            {
                view.Proximity = Proximity.Unknown;
                view.ProximityLabel = string.Empty;
                view.ProximityColour = Palette.UnknownProximity;
            }
            view.Badges = Badges(overlay, verdict, hostNowNs, options);
            view.RemovedReason = string.Empty;
            return view;
        }

        /// <summary>
        /// Why a stale overlay must leave the room, or null while it may stay: no host clock (its age is unknown), or more
        /// than <see cref="PresentationOptions.RemoveStaleAfterNs"/> past <c>valid_until_ns</c> (expired or link down).
        /// </summary>
        public static string RemovalReason(OverlayMessage overlay, FreshnessVerdict verdict, long hostNowNs,
                                           PresentationOptions options = null)
        {
            options = options ?? new PresentationOptions();
            if (verdict.IsCurrent)
            {
                return null;
            }
            if (verdict.Reason == StaleReason.NoClock)
            {
                return "NO GUIDANCE: no data from the core yet";
            }
            long past = hostNowNs - overlay.ValidUntilNs;
            if (past <= options.RemoveStaleAfterNs)
            {
                return null;
            }
            string why = verdict.Reason == StaleReason.LinkDown ? "link to the core down" : "overlay expired";
            return string.Format(CultureInfo.InvariantCulture, "NO GUIDANCE: {0} {1:F1} s ago", why,
                                 Math.Max(0, hostNowNs - overlay.ValidUntilNs) / 1e9);
        }

        /// <summary>The colour of a proximity class.</summary>
        public static Rgba ProximityColour(Proximity p)
        {
            switch (p)
            {
                case Proximity.Safe: return Palette.Safe;
                case Proximity.Caution: return Palette.Caution;
                case Proximity.Stop: return Palette.Stop;
                default: return Palette.UnknownProximity;
            }
        }

        /// <summary>The colour of a structure class.</summary>
        public static Rgba ClassColour(StructureClass c)
        {
            switch (c)
            {
                case StructureClass.Nerve: return Palette.Nerve;
                case StructureClass.Vessel: return Palette.Vessel;
                default: return Palette.OtherStructure;
            }
        }

        private static bool LayerVisible(OverlayMessage overlay, string layer)
        {
            bool visible;
            // A layer the core did not mention stays visible; one it switched off is never drawn.
            return !overlay.Layers.TryGetValue(layer, out visible) || visible;
        }

        private static PolylineView StructureLine(StructureOverlay s, Matrix4x4d matrix, bool stale, PresentationOptions options)
        {
            bool certain = s.IsCertain && !stale;
            Rgba colour;
            if (stale)
            {
                colour = Palette.Stale.WithAlpha(Palette.StaleAlpha);
            }
            else
            {
                colour = ClassColour(s.Class).WithAlpha(s.IsCertain ? Palette.CertainAlpha : Palette.UncertainAlpha);
            }
            return new PolylineView
            {
                Key = "structure:" + s.Id.ToString(CultureInfo.InvariantCulture),
                ImagePx = s.ContourPx,
                Points = Place(matrix, s.ContourPx),
                Closed = true,
                Colour = colour,
                Style = certain ? StrokeStyle.Solid : StrokeStyle.Dashed,
                WidthM = options.OutlineWidthM,
                Label = s.IsCertain ? string.Empty : s.ClassName + "?",
                Class = s.Class,
            };
        }

        private static Point3d[] Place(Matrix4x4d matrix, float[] px)
        {
            return matrix == null ? null : ImagePlane.ContourToUnity(matrix, px);
        }

        private static string PlacementNote(OverlayMessage overlay)
        {
            switch (overlay.PoseValidity)
            {
                case PoseValidity.Ok:
                    return overlay.TUnityFromImage == null ? "no calibration: overlay not placed" : string.Empty;
                case PoseValidity.Occluded:
                    return overlay.TUnityFromImage == null ? "probe occluded: overlay not placed" : "probe occluded: pose bridged";
                default:
                    return "probe not tracked (" + overlay.PoseValidityText + "): overlay not placed";
            }
        }

        private static string ProximityText(NeedleOverlay needle)
        {
            string word = needle.Proximity == Proximity.Unknown ? "PROXIMITY UNKNOWN" : needle.Proximity.ToString().ToUpperInvariant();
            string nearest = null;
            double best = double.PositiveInfinity;
            foreach (var pair in needle.TipDistanceMm)
            {
                if (pair.Value.HasValue && pair.Value.Value < best)
                {
                    best = pair.Value.Value;
                    nearest = pair.Key;
                }
            }
            if (nearest == null)
            {
                return word;
            }
            return string.Format(CultureInfo.InvariantCulture, "{0} {1:F1} mm to {2}", word, best, nearest);
        }

        private static List<string> Badges(OverlayMessage overlay, FreshnessVerdict verdict, long hostNowNs, PresentationOptions options)
        {
            var badges = new List<string>();
            if (!verdict.IsCurrent)
            {
                badges.Add(verdict.Label);
            }
            if (overlay.Frozen)
            {
                if (overlay.FrozenAtNs.HasValue && verdict.Reason != StaleReason.NoClock)
                {
                    double held = Math.Max(0, hostNowNs - overlay.FrozenAtNs.Value) / 1e9;
                    badges.Add(string.Format(CultureInfo.InvariantCulture, "FROZEN {0:F0} s", held));
                }
                else
                {
                    badges.Add("FROZEN");
                }
            }
            if (overlay.PoseValidity != PoseValidity.Ok)
            {
                badges.Add("PROBE " + overlay.PoseValidityText.ToUpperInvariant());
            }
            if (overlay.Quality < options.QualityBadgeBelow)
            {
                string flags = overlay.QualityFlags.Count == 0 ? string.Empty : ": " + string.Join(", ", overlay.QualityFlags);
                badges.Add(string.Format(CultureInfo.InvariantCulture, "LOW QUALITY {0:F2}{1}", overlay.Quality, flags));
            }
            return badges;
        }
    }
}
