using Sonoguide.Runtime;
using UnityEngine;

namespace Sonoguide.Samples
{
    /// <summary>
    /// Builds a working sonoguide rig at start: client, overlay renderer, ultrasound image, status HUD, the headset's
    /// tracking state and command shortcuts. Open the sample scene <c>QuickStart.unity</c> (an XR Origin whose camera is
    /// tagged MainCamera, plus this component), or drop it on any GameObject of such a scene, set the endpoints (or a
    /// pairing bundle) and press Play with the core running (<c>sonoguide demo</c>).
    /// </summary>
    [AddComponentMenu("Sonoguide/Samples/Quick Start Rig")]
    public sealed class QuickStartRig : MonoBehaviour
    {
        [SerializeField] private string dataEndpoint = "tcp://127.0.0.1:5556";
        [SerializeField] private string controlEndpoint = "tcp://127.0.0.1:5557";

        [Tooltip("Pairing bundle from 'sonoguide pair' (relative paths are read from Application.persistentDataPath).")]
        [SerializeField] private string pairingBundlePath = "";

        [SerializeField] private bool showUltrasoundImage = true;

        private void Awake()
        {
            var rig = new GameObject("Sonoguide");
            rig.SetActive(false); // configure everything before the components start
            var client = rig.AddComponent<SonoguideClient>();
            client.DataEndpoint = dataEndpoint;
            client.ControlEndpoint = controlEndpoint;
            client.PairingBundlePath = pairingBundlePath;
            var overlay = rig.AddComponent<OverlayRenderer>();
            overlay.Client = client;
            if (showUltrasoundImage)
            {
                rig.AddComponent<UltrasoundImageQuad>().Renderer = overlay;
            }
            rig.AddComponent<StatusHud>().Client = client;
            rig.AddComponent<XrHeadTracking>().Renderer = overlay; // no overlay while the headset has lost its own tracking
            rig.AddComponent<VoiceCommandButtons>().Client = client;
            rig.SetActive(true);
        }
    }
}
