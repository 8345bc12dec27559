using Sonoguide.Protocol.Placement;
using UnityEngine;
using UnityEngine.XR;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// The XR glue for the headset's own tracking: every frame it reads the head device's tracking state from Unity's XR
    /// input (OpenXR on HoloLens 2 and Quest 3) and tells the <see cref="OverlayRenderer"/> whether overlays can be pinned
    /// to the patient (<see cref="HeadTrackingStatus"/>). While the headset is not tracked in position and rotation the
    /// renderer draws nothing and the HUD says "HEADSET TRACKING LOST - overlay hidden". The camera itself is driven by
    /// the XR plug-in (or a Tracked Pose Driver); this component only reads.
    /// </summary>
    [AddComponentMenu("Sonoguide/XR Head Tracking")]
    public sealed class XrHeadTracking : MonoBehaviour
    {
        [SerializeField] private OverlayRenderer overlayRenderer;

        [Tooltip("In the Editor without an XR runtime, treat the head as tracked (the Game view camera stands in for it).")]
        [SerializeField] private bool trackedWithoutXrInEditor = true;

        private string _lastReason = string.Empty;

        /// <summary>The renderer to inform.</summary>
        public OverlayRenderer Renderer
        {
            get { return overlayRenderer; }
            set { overlayRenderer = value; }
        }

        /// <summary>Why the head is not tracked now, empty when it is.</summary>
        public string Reason
        {
            get { return _lastReason; }
        }

        private void Update()
        {
            if (overlayRenderer == null)
            {
                return;
            }
            var head = InputDevices.GetDeviceAtXRNode(XRNode.Head);
            bool? isTracked = null;
            uint? state = null;
            if (head.isValid)
            {
                bool tracked;
                if (head.TryGetFeatureValue(CommonUsages.isTracked, out tracked)) isTracked = tracked;
                InputTrackingState flags;
                if (head.TryGetFeatureValue(CommonUsages.trackingState, out flags)) state = (uint)flags;
            }
            string reason;
            bool ok = HeadTrackingStatus.Evaluate(head.isValid, isTracked, state, out reason);
            if (!head.isValid && trackedWithoutXrInEditor && Application.isEditor)
            {
                ok = true;
                reason = string.Empty;
            }
            if (reason != _lastReason)
            {
                if (ok) Debug.Log("[sonoguide] headset tracking regained", this);
                else Debug.LogWarning("[sonoguide] overlay hidden: " + reason, this);
                _lastReason = reason;
            }
            overlayRenderer.HeadsetTracked = ok;
        }
    }
}
