namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// One outlined structure of an overlay (PROTOCOL.md, overlay field <c>structures</c>:
    /// <c>{"id", "cls", "validity", "confidence", "area_mm2", "contour"}</c>).
    /// </summary>
    public sealed class StructureOverlay
    {
        /// <summary>Stable across frames for the same structure.</summary>
        public long Id { get; }

        /// <summary>The class as sent (<c>nerve</c> or <c>vessel</c>).</summary>
        public string ClassName { get; }

        /// <summary>The parsed class.</summary>
        public StructureClass Class { get; }

        /// <summary>The validity as sent (<c>ok</c> or <c>uncertain</c>).</summary>
        public string Validity { get; }

        /// <summary>
        /// True only for <c>validity == "ok"</c>. Anything else (<c>uncertain</c>, or a value this client does not know)
        /// must be drawn visibly unsure, never as certain.
        /// </summary>
        public bool IsCertain
        {
            get { return Validity == "ok"; }
        }

        /// <summary>Model confidence 0..1.</summary>
        public double Confidence { get; }

        /// <summary>Area in mm².</summary>
        public double AreaMm2 { get; }

        /// <summary>The name of the contour array.</summary>
        public string ContourName { get; }

        /// <summary>The outline as interleaved image pixels <c>x0, y0, x1, y1, ...</c> (the <c>(N, 2) &lt;f4</c> array).</summary>
        public float[] ContourPx { get; }

        /// <summary>Number of contour points.</summary>
        public int PointCount
        {
            get { return ContourPx.Length / 2; }
        }

        internal StructureOverlay(long id, string cls, string validity, double confidence, double areaMm2, string contourName, float[] contourPx)
        {
            Id = id;
            ClassName = cls;
            Class = ValidityText.ParseClass(cls);
            Validity = validity;
            Confidence = confidence;
            AreaMm2 = areaMm2;
            ContourName = contourName;
            ContourPx = contourPx;
        }
    }
}
