using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Link;

namespace Sonoguide.Protocol.Placement
{
    /// <summary>Where an overlay's geometry was anchored: at the capture time (correct) or, failing that, at arrival.</summary>
    public enum PlacementTime
    {
        /// <summary>the head pose at the ultrasound frame's capture time</summary>
        Capture,
        /// <summary>no head pose at the capture time (no host clock, or a gap in the history): the current one</summary>
        Arrival,
    }

    /// <summary>
    /// The head pose with which to place an overlay. The core computes each overlay's geometry in the headset's frame at
    /// the ultrasound frame's capture time (<c>T_unity_from_image</c>); drawing it relative to the head pose of that same
    /// instant pins it to the patient however the head moved since. The capture time is mapped from the core's clock to
    /// the local clock with <see cref="HostClock"/>; the head pose there comes from <see cref="HeadPoseHistory"/>.
    /// </summary>
    public static class CapturePlacement
    {
        /// <summary>
        /// The head pose at the overlay's capture time when it can be known, else <paramref name="current"/>; the second
        /// value says which.
        /// </summary>
        public static PlacementTime Anchor(HeadPoseHistory history, HostClock clock, long tCaptureHostNs, RigidPose current,
                                           out RigidPose anchor)
        {
            anchor = current;
            if (history == null || clock == null || !clock.HasEstimate)
            {
                return PlacementTime.Arrival;
            }
            RigidPose atCapture;
            if (!history.TryAt(clock.ToLocal(tCaptureHostNs), out atCapture))
            {
                return PlacementTime.Arrival;
            }
            anchor = atCapture;
            return PlacementTime.Capture;
        }
    }
}
