using System.Globalization;

namespace Sonoguide.Protocol.Presentation
{
    /// <summary>A colour with alpha, components 0..1 (the Runtime converts it to <c>UnityEngine.Color</c>).</summary>
    public struct Rgba
    {
        /// <summary>red</summary>
        public readonly float R;
        /// <summary>green</summary>
        public readonly float G;
        /// <summary>blue</summary>
        public readonly float B;
        /// <summary>alpha (1 opaque)</summary>
        public readonly float A;

        /// <summary>Create a colour.</summary>
        public Rgba(float r, float g, float b, float a = 1f)
        {
            R = r;
            G = g;
            B = b;
            A = a;
        }

        /// <summary>The same colour with alpha <paramref name="a"/>.</summary>
        public Rgba WithAlpha(float a)
        {
            return new Rgba(R, G, B, a);
        }

        /// <inheritdoc />
        public override string ToString()
        {
            return string.Format(CultureInfo.InvariantCulture, "RGBA({0:F2}, {1:F2}, {2:F2}, {3:F2})", R, G, B, A);
        }
    }

    /// <summary>
    /// The colours of the overlay. Nerve yellow and vessel red follow the usual convention of regional-anaesthesia teaching
    /// material; proximity uses a traffic-light scale. Everything stale is the same neutral grey so it can never be read as a
    /// live warning colour.
    /// </summary>
    public static class Palette
    {
        /// <summary>Nerve outline.</summary>
        public static readonly Rgba Nerve = new Rgba(1.00f, 0.90f, 0.10f);
        /// <summary>Vessel outline.</summary>
        public static readonly Rgba Vessel = new Rgba(0.95f, 0.15f, 0.15f);
        /// <summary>A structure class this client does not know.</summary>
        public static readonly Rgba OtherStructure = new Rgba(0.70f, 0.40f, 0.95f);
        /// <summary>Needle far from structures.</summary>
        public static readonly Rgba Safe = new Rgba(0.20f, 0.85f, 0.30f);
        /// <summary>Needle getting close.</summary>
        public static readonly Rgba Caution = new Rgba(1.00f, 0.60f, 0.00f);
        /// <summary>Needle must stop.</summary>
        public static readonly Rgba Stop = new Rgba(1.00f, 0.05f, 0.05f);
        /// <summary>Proximity unknown.</summary>
        public static readonly Rgba UnknownProximity = new Rgba(0.80f, 0.80f, 0.80f);
        /// <summary>Anything stale.</summary>
        public static readonly Rgba Stale = new Rgba(0.55f, 0.55f, 0.55f);

        /// <summary>Alpha of certain outlines.</summary>
        public const float CertainAlpha = 1.0f;
        /// <summary>Alpha of uncertain outlines (drawn dashed as well).</summary>
        public const float UncertainAlpha = 0.45f;
        /// <summary>Alpha of stale content.</summary>
        public const float StaleAlpha = 0.5f;
    }
}
