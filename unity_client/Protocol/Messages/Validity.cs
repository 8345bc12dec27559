namespace Sonoguide.Protocol.Messages
{
    /// <summary>Probe pose status at the frame's capture time (PROTOCOL.md, overlay field <c>pose_validity</c>).</summary>
    public enum PoseValidity
    {
        /// <summary>a value this client does not know: treated like <see cref="Lost"/></summary>
        Unknown,
        /// <summary>tracked</summary>
        Ok,
        /// <summary>markers briefly hidden; the pose is bridged by the filter</summary>
        Occluded,
        /// <summary>the last pose is too old</summary>
        Stale,
        /// <summary>no pose</summary>
        Lost,
    }

    /// <summary>Needle proximity class (PROTOCOL.md, needle field <c>proximity</c>).</summary>
    public enum Proximity
    {
        /// <summary>no decision possible (or a value this client does not know)</summary>
        Unknown,
        /// <summary>far from nerve and vessels</summary>
        Safe,
        /// <summary>getting close</summary>
        Caution,
        /// <summary>stop advancing</summary>
        Stop,
    }

    /// <summary>Structure class (PROTOCOL.md, structure field <c>cls</c>).</summary>
    public enum StructureClass
    {
        /// <summary>a class this client does not know</summary>
        Other,
        /// <summary>nerve</summary>
        Nerve,
        /// <summary>vessel (artery or vein)</summary>
        Vessel,
    }

    /// <summary>Parsing of the wire's status strings; unknown strings map to the most cautious value.</summary>
    public static class ValidityText
    {
        /// <summary>Parse <c>pose_validity</c>.</summary>
        public static PoseValidity ParsePose(string text)
        {
            switch (text)
            {
                case "ok": return PoseValidity.Ok;
                case "occluded": return PoseValidity.Occluded;
                case "stale": return PoseValidity.Stale;
                case "lost": return PoseValidity.Lost;
                default: return PoseValidity.Unknown;
            }
        }

        /// <summary>Parse <c>proximity</c>.</summary>
        public static Proximity ParseProximity(string text)
        {
            switch (text)
            {
                case "safe": return Proximity.Safe;
                case "caution": return Proximity.Caution;
                case "stop": return Proximity.Stop;
                default: return Proximity.Unknown;
            }
        }

        /// <summary>Parse <c>cls</c>.</summary>
        public static StructureClass ParseClass(string text)
        {
            switch (text)
            {
                case "nerve": return StructureClass.Nerve;
                case "vessel": return StructureClass.Vessel;
                default: return StructureClass.Other;
            }
        }
    }
}
