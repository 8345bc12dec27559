namespace Sonoguide.Protocol.Placement
{
    /// <summary>
    /// Whether the headset tracks its own pose in the room, from what the XR runtime reports for the head device
    /// (OpenXR through Unity's XR input: the device's <c>isTracked</c> and <c>trackingState</c> features). Only a valid
    /// device that is tracked with both position and rotation counts: with rotation only (3-DoF fallback, e.g. a Quest
    /// that lost its cameras' view) an overlay pinned to the patient would drift with every step, so it is hidden.
    /// </summary>
    /// <remarks>OpenXR 1.0 specification, <c>XrSpaceLocationFlags</c> (position and orientation <i>valid</i> and
    /// <i>tracked</i>); Unity XR input <c>InputTrackingState</c> (Position = 1, Rotation = 2).</remarks>
    public static class HeadTrackingStatus
    {
        /// <summary><c>InputTrackingState.Position</c>.</summary>
        public const uint PositionFlag = 1;

        /// <summary><c>InputTrackingState.Rotation</c>.</summary>
        public const uint RotationFlag = 2;

        /// <summary>Decide from the head device's report.</summary>
        /// <param name="deviceValid">the XR runtime lists a head device.</param>
        /// <param name="isTracked">its <c>isTracked</c> feature, or null when it does not report one.</param>
        /// <param name="trackingState">its <c>trackingState</c> flags, or null when it does not report them.</param>
        /// <param name="reason">why it is not tracked (for the log), empty when it is.</param>
        public static bool Evaluate(bool deviceValid, bool? isTracked, uint? trackingState, out string reason)
        {
            if (!deviceValid)
            {
                reason = "no head device (XR runtime not running?)";
                return false;
            }
            if (isTracked == false)
            {
                reason = "the headset lost its tracking";
                return false;
            }
            if (trackingState.HasValue && (trackingState.Value & (PositionFlag | RotationFlag)) != (PositionFlag | RotationFlag))
            {
                reason = (trackingState.Value & PositionFlag) == 0 ? "the headset tracks rotation only (position lost)" : "the headset lost its rotation";
                return false;
            }
            reason = string.Empty;
            return true;
        }
    }
}
