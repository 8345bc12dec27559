using System.Text;
using UnityEngine;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// A head-locked status panel: link, probe tracking, freeze, recording, the pending confirmation ("say confirm to hide all")
    /// and the last voice decision (text from <see cref="Sonoguide.Protocol.Presentation.HudModel"/>), coloured by severity.
    /// </summary>
    [DisallowMultipleComponent]
    [AddComponentMenu("Sonoguide/Status HUD")]
    public sealed class StatusHud : MonoBehaviour
    {
        [SerializeField] private SonoguideClient client;

        [Tooltip("The overlay renderer: the HUD says when the headset lost its own tracking or why no overlay is shown.")]
        [SerializeField] private OverlayRenderer overlay;

        [Tooltip("Camera the panel follows. Empty: the main camera.")]
        [SerializeField] private Transform head;

        [Tooltip("Panel position in the camera's frame (m): keep it in the periphery, off the needle's path.")]
        [SerializeField] private Vector3 offset = new Vector3(0.18f, 0.12f, 0.8f);

        [SerializeField] private float characterSize = 0.001f;

        [SerializeField] private Font font;

        [Tooltip("Refresh rate of the text (Hz).")]
        [Range(1f, 30f)] [SerializeField] private float refreshHz = 5f;

        private TextMesh _text;
        private float _next;
        private readonly StringBuilder _sb = new StringBuilder();

        /// <summary>The client whose status is shown.</summary>
        public SonoguideClient Client
        {
            get { return client; }
            set { client = value; }
        }

        private void Awake()
        {
            _text = OverlayMaterials.CreateLabel("Sonoguide HUD", transform, characterSize, font != null ? font : OverlayMaterials.DefaultFont());
            _text.anchor = TextAnchor.UpperLeft;
        }

        private void LateUpdate()
        {
            Transform cam = head != null ? head : (Camera.main != null ? Camera.main.transform : null);
            if (cam != null)
            {
                _text.transform.position = cam.TransformPoint(offset);
                _text.transform.rotation = cam.rotation;
            }
            if (Time.unscaledTime < _next)
            {
                return;
            }
            _next = Time.unscaledTime + 1f / refreshHz;
            _sb.Length = 0;
            var session = client != null ? client.Session : null;
            if (session == null)
            {
                _sb.Append("<color=#FF3030>SONOGUIDE OFF</color>\n");
                _sb.Append(client != null ? client.Status : "no SonoguideClient assigned");
            }
            else
            {
                bool tracked = overlay == null || overlay.HeadsetTracked;
                var view = overlay != null ? overlay.CurrentView : null;
                string notice = view != null && view.Removed ? view.RemovedReason : string.Empty;
                foreach (var line in session.Hud(tracked, notice))
                {
                    _sb.Append("<color=").Append(UnityConversions.Hex(line.Severity)).Append('>').Append(line.Text).Append("</color>\n");
                }
                if (client.LastReply != null && !client.LastReply.Ok && Time.unscaledTime - client.LastReplyTime < 5f)
                {
                    _sb.Append("<color=#E0E0E0>'").Append(client.LastReplyCommand).Append("': ").Append(client.LastReply.Error).Append("</color>\n");
                }
            }
            _text.text = _sb.ToString();
        }
    }
}
