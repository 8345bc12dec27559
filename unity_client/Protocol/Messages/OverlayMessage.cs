using System.Collections.Generic;
using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// Everything the headset draws for one processed ultrasound frame (PROTOCOL.md, topic <c>overlay</c>).
    /// </summary>
    /// <remarks>
    /// Safety rules carried by this type (see <see cref="Presentation.OverlayFreshness"/>):
    /// after <see cref="ValidUntilNs"/> the overlay must be shown as stale, never as current;
    /// <see cref="TUnityFromImage"/> is present only while the probe pose is <c>ok</c> or <c>occluded</c>;
    /// while <see cref="Frozen"/> the content is the one captured at <see cref="FrozenAtNs"/>.
    /// </remarks>
    public sealed class OverlayMessage : ProtocolMessage
    {
        /// <summary>The ultrasound frame's sequence number.</summary>
        public long FrameSeq { get; private set; }

        /// <summary><c>t_capture_ns</c> + validity limit (host clock): after it the overlay is stale.</summary>
        public long ValidUntilNs { get; private set; }

        /// <summary>Image width in pixels (<c>image_size[0]</c>).</summary>
        public int ImageWidth { get; private set; }

        /// <summary>Image height in pixels (<c>image_size[1]</c>).</summary>
        public int ImageHeight { get; private set; }

        /// <summary>Pixel spacing along rows (mm), <c>mm_per_px[0]</c>.</summary>
        public double MmPerPxRow { get; private set; }

        /// <summary>Pixel spacing along columns (mm), <c>mm_per_px[1]</c>.</summary>
        public double MmPerPxCol { get; private set; }

        /// <summary>The clinician froze the view; the content is held.</summary>
        public bool Frozen { get; private set; }

        /// <summary>Capture time of the held content while frozen, else null.</summary>
        public long? FrozenAtNs { get; private set; }

        /// <summary>Layer visibility chosen by the clinician (<c>nerve</c>, <c>vessel</c>, <c>needle</c>); hidden layers are not sent.</summary>
        public IReadOnlyDictionary<string, bool> Layers { get; private set; }

        /// <summary>Image quality 0..1.</summary>
        public double Quality { get; private set; }

        /// <summary>Reasons that lowered the quality.</summary>
        public IReadOnlyList<string> QualityFlags { get; private set; }

        /// <summary>The pose status as sent.</summary>
        public string PoseValidityText { get; private set; }

        /// <summary>Parsed pose status.</summary>
        public PoseValidity PoseValidity { get; private set; }

        /// <summary>Frame capture time minus pose capture time (ms), or null.</summary>
        public double? PoseAgeMs { get; private set; }

        /// <summary>Image px → headset mm, or null when the pose cannot place the image.</summary>
        public Matrix4x4d THeadsetFromImage { get; private set; }

        /// <summary>Image px → Unity metres, or null when the pose cannot place the image.</summary>
        public Matrix4x4d TUnityFromImage { get; private set; }

        /// <summary>The outlined structures (only of visible layers).</summary>
        public IReadOnlyList<StructureOverlay> Structures { get; private set; }

        /// <summary>The needle layer, or null (not detected, stage off, or layer hidden).</summary>
        public NeedleOverlay Needle { get; private set; }

        /// <summary>The ultrasound image, when sent.</summary>
        public UltrasoundImage Image { get; private set; }

        /// <summary>The ultrasound source name.</summary>
        public string Source { get; private set; }

        /// <summary>
        /// True when the image can be placed in the room: the pose is <c>ok</c> or <c>occluded</c> and the
        /// placement matrix was sent. Never true for a lost, stale or unknown pose, even if a matrix were present.
        /// </summary>
        public bool IsPlaced
        {
            get
            {
                return TUnityFromImage != null && (PoseValidity == PoseValidity.Ok || PoseValidity == PoseValidity.Occluded);
            }
        }

        /// <summary>
        /// True only while the link is up and host time is before <see cref="ValidUntilNs"/> minus the safety margin
        /// (PROTOCOL.md: after <c>valid_until_ns</c> the overlay must be shown as stale, never as current).
        /// </summary>
        /// <param name="hostNowNs">now on the core's clock (<see cref="Link.HostClock.ToHost"/>).</param>
        /// <param name="linkUp">the heartbeat monitor says the link is up.</param>
        /// <param name="marginNs">safety margin before <c>valid_until_ns</c>.</param>
        public bool IsCurrent(long hostNowNs, bool linkUp, long marginNs = Presentation.OverlayFreshness.DefaultMarginNs)
        {
            return Presentation.OverlayFreshness.IsCurrent(this, hostNowNs, linkUp, marginNs);
        }

        private OverlayMessage(WireMessage wire) : base(wire)
        {
        }

        /// <summary>Build from a decoded message of topic <c>overlay</c>.</summary>
        /// <exception cref="ProtocolException">a required field is missing or has the wrong type, or an array is missing or malformed.</exception>
        public static OverlayMessage FromWire(WireMessage wire)
        {
            var b = new BodyReader(wire.Body, "overlay body", "overlay");
            var m = new OverlayMessage(wire);
            m.FrameSeq = b.Long("frame_seq");
            m.ValidUntilNs = b.Long("valid_until_ns");
            var size = b.Numbers("image_size", 2);
            m.ImageWidth = CheckedDim(size[0], "image_size");
            m.ImageHeight = CheckedDim(size[1], "image_size");
            var mm = b.Numbers("mm_per_px", 2);
            m.MmPerPxRow = mm[0];
            m.MmPerPxCol = mm[1];
            m.Frozen = b.Bool("frozen");
            m.FrozenAtNs = b.Has("frozen_at_ns") ? b.NullableLong("frozen_at_ns") : null;
            m.Layers = b.BoolMap("layers");
            m.Quality = b.Double("quality");
            m.QualityFlags = b.Strings("quality_flags");
            m.PoseValidityText = b.String("pose_validity");
            m.PoseValidity = ValidityText.ParsePose(m.PoseValidityText);
            m.PoseAgeMs = b.NullableDouble("pose_age_ms");
            m.Source = b.OptionalString("source", "");
            m.THeadsetFromImage = OptionalMatrix(wire, "T_headset_from_image");
            m.TUnityFromImage = OptionalMatrix(wire, "T_unity_from_image");
            m.Structures = ReadStructures(wire, b.List("structures"));
            m.Needle = ReadNeedle(wire, b.NullableObject("needle"));
            string imageName = b.Has("image") ? b.NullableString("image") : null;
            if (imageName != null)
            {
                var arr = wire.GetArray(imageName, "image");
                if (arr.Dtype != ArrayDtype.UInt8 || arr.Shape.Length != 2)
                {
                    throw new ProtocolException("overlay image array '" + imageName + "' must be (h, w) |u1, got " + arr.ShapeString + " " + arr.DtypeText);
                }
                m.Image = new UltrasoundImage(arr.Shape[1], arr.Shape[0], arr.ToUInt8());
            }
            return m;
        }

        private static int CheckedDim(double v, string field)
        {
            if (v < 0 || v > int.MaxValue || v != System.Math.Floor(v))
            {
                throw new ProtocolException("overlay body field '" + field + "' must hold non-negative integers");
            }
            return (int)v;
        }

        private static Matrix4x4d OptionalMatrix(WireMessage wire, string name)
        {
            WireArray arr;
            if (!wire.TryGetArray(name, out arr))
            {
                return null;
            }
            arr.RequireShape(4, 4);
            if (arr.Dtype != ArrayDtype.Float64)
            {
                throw new ProtocolException("array '" + name + "' must be <f8, got " + arr.DtypeText);
            }
            var m = new Matrix4x4d(arr.ToFloat64());
            if (!m.IsAffine)
            {
                throw new ProtocolException("array '" + name + "' is not a finite affine transform (last row must be [0, 0, 0, 1])");
            }
            return m;
        }

        private static float[] PointArray(WireMessage wire, string name, string field, int rows)
        {
            var arr = wire.GetArray(name, field);
            arr.RequireShape(rows, 2);
            if (arr.Dtype != ArrayDtype.Float32)
            {
                throw new ProtocolException("array '" + name + "' must be <f4, got " + arr.DtypeText);
            }
            return arr.ToFloat32();
        }

        private static List<StructureOverlay> ReadStructures(WireMessage wire, JsonArray list)
        {
            var result = new List<StructureOverlay>(list.Count);
            for (int i = 0; i < list.Count; i++)
            {
                var o = list[i] as JsonObject;
                if (o == null)
                {
                    throw new ProtocolException("overlay body field 'structures[" + i + "]' is not an object");
                }
                var s = new BodyReader(o, "overlay structures[" + i + "]", "overlay.structure");
                string contour = s.String("contour");
                result.Add(new StructureOverlay(s.Long("id"), s.String("cls"), s.String("validity"), s.Double("confidence"),
                                                s.Double("area_mm2"), contour, PointArray(wire, contour, "structures[" + i + "].contour", -1)));
            }
            return result;
        }

        private static NeedleOverlay ReadNeedle(WireMessage wire, JsonObject o)
        {
            if (o == null)
            {
                return null;
            }
            var n = new BodyReader(o, "overlay needle", "overlay.needle");
            string trajectoryName = n.Has("trajectory") ? n.NullableString("trajectory") : null;
            float[] trajectory = trajectoryName == null ? null : PointArray(wire, trajectoryName, "needle.trajectory", 2);
            return new NeedleOverlay(n.String("validity"), n.NullableNumbers("tip_px", 2), n.NullableNumbers("entry_px", 2),
                                     n.NullableDouble("angle_deg"), n.String("proximity"),
                                     n.NullableNumberMap("tip_distance_mm"), n.NullableNumberMap("trajectory_distance_mm"), trajectory);
        }
    }
}
