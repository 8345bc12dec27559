using System.Collections.Generic;
using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Messages;

namespace Sonoguide.Protocol.Presentation
{
    /// <summary>How a line is stroked.</summary>
    public enum StrokeStyle
    {
        /// <summary>continuous: a certain result</summary>
        Solid,
        /// <summary>dashed: uncertain, predicted or stale — never to be mistaken for a certain outline</summary>
        Dashed,
    }

    /// <summary>One line to draw: a structure outline, the needle shaft or its predicted trajectory.</summary>
    public sealed class PolylineView
    {
        /// <summary>Stable key for pooling renderers (e.g. <c>structure:7</c>, <c>needle</c>, <c>trajectory</c>).</summary>
        public string Key { get; internal set; }

        /// <summary>Points in Unity metres relative to the headset anchor, or null when the image is not placed.</summary>
        public Point3d[] Points { get; internal set; }

        /// <summary>The same points in image pixels, interleaved <c>x, y</c> (for a 2-D view).</summary>
        public float[] ImagePx { get; internal set; }

        /// <summary>Closed outline (structures) or open line (needle).</summary>
        public bool Closed { get; internal set; }

        /// <summary>Colour and alpha.</summary>
        public Rgba Colour { get; internal set; }

        /// <summary>Stroke style.</summary>
        public StrokeStyle Style { get; internal set; }

        /// <summary>Line width in metres.</summary>
        public float WidthM { get; internal set; }

        /// <summary>Short label next to the line, or empty (e.g. <c>nerve?</c> for an uncertain nerve).</summary>
        public string Label { get; internal set; }

        /// <summary>The structure class for outlines; <see cref="StructureClass.Other"/> for needle lines.</summary>
        public StructureClass Class { get; internal set; }
    }

    /// <summary>
    /// Everything the renderer needs for one overlay at one instant: what to draw, where, in which colour and style, and which
    /// badges to show. Built by <see cref="OverlayPresenter"/>; contains no Unity types so the rules are tested here.
    /// </summary>
    public sealed class OverlayView
    {
        /// <summary>The overlay this view shows.</summary>
        public OverlayMessage Overlay { get; internal set; }

        /// <summary>Current or stale, and why.</summary>
        public FreshnessVerdict Freshness { get; internal set; }

        /// <summary>The clinician froze the view.</summary>
        public bool Frozen { get; internal set; }

        /// <summary>The image plane can be placed in the room (pose ok or occluded with a placement matrix).</summary>
        public bool Placed { get; internal set; }

        /// <summary>Why the overlay is not placed or is placed with a bridged pose; empty when tracking is ok.</summary>
        public string PlacementNote { get; internal set; }

        /// <summary>Outlines of visible structures.</summary>
        public IReadOnlyList<PolylineView> Structures { get; internal set; }

        /// <summary>Needle shaft from entry to tip, or null.</summary>
        public PolylineView NeedleShaft { get; internal set; }

        /// <summary>Predicted trajectory from the tip, or null (always dashed: it is a prediction).</summary>
        public PolylineView NeedleTrajectory { get; internal set; }

        /// <summary>Proximity class of the needle, <see cref="Proximity.Unknown"/> without a needle.</summary>
        public Proximity Proximity { get; internal set; }

        /// <summary>Text such as <c>CAUTION 2.4 mm to nerve</c>, or empty.</summary>
        public string ProximityLabel { get; internal set; }

        /// <summary>Colour of <see cref="ProximityLabel"/>.</summary>
        public Rgba ProximityColour { get; internal set; }

        /// <summary>Image corners in Unity metres (top-left, top-right, bottom-right, bottom-left), or null when not placed.</summary>
        public Point3d[] ImageCorners { get; internal set; }

        /// <summary>Tint of the ultrasound image quad (grey when stale).</summary>
        public Rgba ImageTint { get; internal set; }

        /// <summary>Status badges in display order: STALE…, FROZEN…, pose notes, quality flags.</summary>
        public IReadOnlyList<string> Badges { get; internal set; }

        /// <summary>
        /// True when the overlay is past its removal limit: nothing of it is placed in the room (no image, outlines or
        /// needle); <see cref="RemovedReason"/> (also the first badge) says why for the HUD.
        /// </summary>
        public bool Removed { get; internal set; }

        /// <summary>Why nothing is shown, e.g. <c>NO GUIDANCE: overlay expired 1.8 s ago</c>; empty when not removed.</summary>
        public string RemovedReason { get; internal set; }
    }
}
