using System;
using System.Collections.Generic;
using Sonoguide.Protocol.Client;
using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Placement;
using Sonoguide.Protocol.Presentation;
using UnityEngine;
using UnityEngine.Rendering;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// Draws the overlay in the ultrasound plane: structure outlines (nerve yellow, vessel red), the needle and its predicted
    /// trajectory coloured by proximity (safe / caution / stop), placed with <c>T_unity_from_image</c> (PROTOCOL.md,
    /// "Coordinate frames and units"). Safety behaviour comes from <see cref="OverlayPresenter"/>: uncertain structures are
    /// dashed and translucent, never drawn as certain; stale overlays turn grey with a STALE label; a frozen view shows a
    /// FROZEN badge; nothing is placed in the room without a usable probe pose.
    /// </summary>
    [DisallowMultipleComponent]
    [AddComponentMenu("Sonoguide/Overlay Renderer")]
    public sealed class OverlayRenderer : MonoBehaviour
    {
        [Tooltip("The client that receives the overlays.")]
        [SerializeField] private SonoguideClient client;

        [Tooltip("The Transform whose local frame is the core's headset frame (PROTOCOL.md). Default: the main camera, for a tracking camera mounted on the headset and calibrated to it.")]
        [SerializeField] private Transform headsetAnchor;

        [Tooltip("Fix each overlay in the room at the anchor's pose when it arrives, so head motion between frames does not drag it along.")]
        [SerializeField] private bool worldLockOnArrival = true;

        [Tooltip("Material for solid lines (unlit, vertex colour, transparent). Empty: Sprites/Default.")]
        [SerializeField] private Material solidMaterial;

        [Tooltip("Material for dashed lines; its texture is replaced by a dash pattern. Empty: Sprites/Default.")]
        [SerializeField] private Material dashedMaterial;

        [Tooltip("Length of one dash of uncertain or predicted lines (m).")]
        [SerializeField] private float dashLengthM = 0.003f;

        [Tooltip("Character size of labels and badges.")]
        [SerializeField] private float labelCharacterSize = 0.0008f;

        [Tooltip("Font for labels. Empty: Unity's built-in font.")]
        [SerializeField] private Font labelFont;

        [Tooltip("Label uncertain structures (e.g. 'vessel?').")]
        [SerializeField] private bool structureLabels = true;

        [Tooltip("Where badges go when the overlay cannot be placed, in the camera's frame (m).")]
        [SerializeField] private Vector3 unplacedBadgeOffset = new Vector3(-0.12f, -0.1f, 0.7f);

        [Tooltip("Stale content leaves the room this long after its validity (s); the badge then says why nothing is shown.")]
        [SerializeField] private float removeStaleAfterS = 1.0f;

        [Tooltip("Place each overlay with the head pose at its ultrasound frame's capture time (kept in a short history), " +
                 "so it stays on the patient while the head turns; off: the head pose at arrival.")]
        [SerializeField] private bool placeAtCaptureTime = true;

        private readonly HeadPoseHistory _headHistory = new HeadPoseHistory();

        /// <summary>How the last overlay was anchored: at its capture time, or at arrival when that pose was unknown.</summary>
        public PlacementTime LastPlacement { get; private set; }

        /// <summary>
        /// Whether the headset tracks its own pose in the room; set by the scene's XR glue from the head device's tracking
        /// state (XR input feature <c>isTracked</c>). While false nothing is drawn and the head-pose history is dropped
        /// (its poses belong to a world frame that may have moved); <see cref="StatusHud"/> says so.
        /// </summary>
        public bool HeadsetTracked
        {
            get { return _headsetTracked; }
            set
            {
                if (!value && _headsetTracked)
                {
                    _headHistory.Clear();
                }
                _headsetTracked = value;
            }
        }

        private bool _headsetTracked = true;

        private readonly PresentationOptions _options = new PresentationOptions();
        private readonly Dictionary<string, LineRenderer> _lines = new Dictionary<string, LineRenderer>();
        private readonly Dictionary<string, TextMesh> _labels = new Dictionary<string, TextMesh>();
        private readonly HashSet<string> _used = new HashSet<string>();
        private Transform _root;
        private Material _solid;
        private Material _dashed;
        private Font _font;
        private TextMesh _badge;
        private OverlayMessage _shown;
        private bool _lastCurrent;
        private StaleReason _lastReason;
        private float _nextRefresh;
        private Vector3[] _buffer;

        /// <summary>The client whose overlays are drawn.</summary>
        public SonoguideClient Client
        {
            get { return client; }
            set { client = value; }
        }

        /// <summary>The Transform whose local frame is the core's headset frame; null: the main camera.</summary>
        public Transform HeadsetAnchor
        {
            get { return headsetAnchor; }
            set { headsetAnchor = value; }
        }

        /// <summary>The transform everything is drawn under (the image plane's frame is its local frame).</summary>
        public Transform OverlayRoot
        {
            get { return _root; }
        }

        /// <summary>The view drawn now, or null.</summary>
        public OverlayView CurrentView { get; private set; }

        /// <summary>Raised after the view was applied: (view, true when a new overlay arrived).</summary>
        public event Action<OverlayView, bool> ViewUpdated;

        private void Awake()
        {
            _options.RemoveStaleAfterNs = (long)(Math.Max(0f, removeStaleAfterS) * 1e9);
            _font = labelFont != null ? labelFont : OverlayMaterials.DefaultFont();
            _solid = OverlayMaterials.Solid(solidMaterial);
            _dashed = OverlayMaterials.Dashed(dashedMaterial, dashLengthM);
            _root = new GameObject("Sonoguide Overlay").transform;
            _badge = OverlayMaterials.CreateLabel("Badges", _root, labelCharacterSize, _font);
            _badge.anchor = TextAnchor.UpperLeft;
            _badge.gameObject.SetActive(false);
        }

        private void OnDestroy()
        {
            if (_root != null)
            {
                Destroy(_root.gameObject);
            }
            if (_dashed != null)
            {
                Destroy(_dashed.mainTexture);
                Destroy(_dashed);
            }
            if (_solid != null && _solid != solidMaterial)
            {
                Destroy(_solid);
            }
        }

        private void OnDisable()
        {
            if (_root != null)
            {
                _root.gameObject.SetActive(false);
            }
        }

        private void OnEnable()
        {
            if (_root != null)
            {
                _root.gameObject.SetActive(true);
            }
        }

        private Transform Anchor()
        {
            if (headsetAnchor != null)
            {
                return headsetAnchor;
            }
            var cam = Camera.main;
            return cam != null ? cam.transform : null;
        }

        private void LateUpdate()
        {
            var session = client != null ? client.Session : null;
            var overlay = session != null ? session.Overlay : null;
            var anchor = Anchor();
            if (session != null && anchor != null && _headsetTracked)
            {
                _headHistory.Add(session.LocalNowNs(), anchor.ToRigidPose());
            }
            if (overlay == null || anchor == null || !_headsetTracked)
            {
                HideAll();
                return;
            }
            var verdict = session.Freshness();
            bool newContent = !ReferenceEquals(overlay, _shown);
            bool verdictChanged = verdict.IsCurrent != _lastCurrent || verdict.Reason != _lastReason;
            if (newContent || verdictChanged || Time.unscaledTime >= _nextRefresh)
            {
                var view = session.Present(_options);
                if (newContent && !SameHeldContent(_shown, overlay))
                {
                    Place(anchor, session, overlay);
                }
                Apply(view, newContent);
                _shown = overlay;
                _lastCurrent = verdict.IsCurrent;
                _lastReason = verdict.Reason;
                _nextRefresh = Time.unscaledTime + 0.2f;
                CurrentView = view;
                var handler = ViewUpdated;
                if (handler != null) handler(view, newContent);
            }
            FaceCamera(anchor);
        }

        /// <summary>
        /// While frozen the core resends the content held at <c>frozen_at_ns</c>; it stays where it was placed when the freeze
        /// began instead of following the head.
        /// </summary>
        private static bool SameHeldContent(OverlayMessage shown, OverlayMessage next)
        {
            return shown != null && shown.Frozen && next.Frozen && shown.FrozenAtNs.HasValue && shown.FrozenAtNs == next.FrozenAtNs;
        }

        private void Place(Transform anchor, SonoguideSession session, OverlayMessage overlay)
        {
            if (worldLockOnArrival)
            {
                if (_root.parent != null)
                {
                    _root.SetParent(null, false);
                }
                // the core computed the geometry in the head frame of the capture instant: anchor it there
                RigidPose pose = RigidPose.Identity;
                LastPlacement = placeAtCaptureTime
                    ? CapturePlacement.Anchor(_headHistory, session.HostClock, overlay.TCaptureNs, anchor.ToRigidPose(), out pose)
                    : PlacementTime.Arrival;
                if (LastPlacement == PlacementTime.Capture)
                {
                    _root.SetPositionAndRotation(pose.Position.ToVector3(), pose.ToQuaternion());
                }
                else
                {
                    _root.SetPositionAndRotation(anchor.position, anchor.rotation);
                }
                _root.localScale = Vector3.one;
            }
            else if (_root.parent != anchor)
            {
                _root.SetParent(anchor, false);
                _root.localPosition = Vector3.zero;
                _root.localRotation = Quaternion.identity;
                _root.localScale = Vector3.one;
            }
        }

        private void Apply(OverlayView view, bool newContent)
        {
            _used.Clear();
            foreach (var line in view.Structures)
            {
                Draw(line, view.Placed, newContent);
            }
            if (view.NeedleShaft != null)
            {
                Draw(view.NeedleShaft, view.Placed, newContent);
                if (view.Placed && view.NeedleShaft.Points != null && !string.IsNullOrEmpty(view.ProximityLabel))
                {
                    var tip = view.NeedleShaft.Points[view.NeedleShaft.Points.Length - 1].ToVector3();
                    Label("proximity", view.ProximityLabel, tip, view.ProximityColour.ToColor());
                }
            }
            if (view.NeedleTrajectory != null)
            {
                Draw(view.NeedleTrajectory, view.Placed, newContent);
            }
            foreach (var pair in _lines)
            {
                if (!_used.Contains(pair.Key) && pair.Value.gameObject.activeSelf)
                {
                    pair.Value.gameObject.SetActive(false);
                }
            }
            foreach (var pair in _labels)
            {
                if (!_used.Contains("label:" + pair.Key) && pair.Value.gameObject.activeSelf)
                {
                    pair.Value.gameObject.SetActive(false);
                }
            }
            UpdateBadge(view);
        }

        private void Draw(PolylineView line, bool placed, bool newContent)
        {
            if (!placed || line.Points == null || line.Points.Length < 2)
            {
                return;
            }
            _used.Add(line.Key);
            LineRenderer lr;
            bool created = false;
            if (!_lines.TryGetValue(line.Key, out lr))
            {
                lr = CreateLine(line.Key);
                _lines[line.Key] = lr;
                created = true;
            }
            if (!lr.gameObject.activeSelf)
            {
                lr.gameObject.SetActive(true);
            }
            if (newContent || created)
            {
                var positions = UnityConversions.ToVector3(line.Points, ref _buffer);
                lr.positionCount = positions.Length;
                lr.SetPositions(positions);
                lr.loop = line.Closed;
            }
            var colour = line.Colour.ToColor();
            lr.startColor = colour;
            lr.endColor = colour;
            lr.widthMultiplier = line.WidthM;
            var material = line.Style == StrokeStyle.Dashed ? _dashed : _solid;
            if (lr.sharedMaterial != material)
            {
                lr.sharedMaterial = material;
            }
            lr.textureMode = line.Style == StrokeStyle.Dashed ? LineTextureMode.Tile : LineTextureMode.Stretch;
            if (structureLabels && !string.IsNullOrEmpty(line.Label))
            {
                Label(line.Key, line.Label, Centroid(line), colour);
            }
        }

        private LineRenderer CreateLine(string key)
        {
            var go = new GameObject(key);
            go.transform.SetParent(_root, false);
            var lr = go.AddComponent<LineRenderer>();
            lr.useWorldSpace = false;
            lr.alignment = LineAlignment.View;
            lr.numCapVertices = 2;
            lr.numCornerVertices = 2;
            lr.shadowCastingMode = ShadowCastingMode.Off;
            lr.receiveShadows = false;
            lr.widthMultiplier = _options.OutlineWidthM;
            return lr;
        }

        private static Vector3 Centroid(PolylineView line)
        {
            Vector3 sum = Vector3.zero;
            foreach (var p in line.Points) sum += p.ToVector3();
            return sum / line.Points.Length;
        }

        private void Label(string key, string text, Vector3 localPosition, Color colour)
        {
            _used.Add("label:" + key);
            TextMesh label;
            if (!_labels.TryGetValue(key, out label))
            {
                label = OverlayMaterials.CreateLabel("label " + key, _root, labelCharacterSize, _font);
                _labels[key] = label;
            }
            if (!label.gameObject.activeSelf)
            {
                label.gameObject.SetActive(true);
            }
            label.transform.localPosition = localPosition;
            label.text = text;
            label.color = colour;
        }

        private void UpdateBadge(OverlayView view)
        {
            var lines = new List<string>(view.Badges);
            if (!string.IsNullOrEmpty(view.PlacementNote) && !view.Placed)
            {
                lines.Add(view.PlacementNote);
            }
            if (lines.Count == 0)
            {
                _badge.gameObject.SetActive(false);
                return;
            }
            _badge.gameObject.SetActive(true);
            _badge.text = string.Join("\n", lines.ToArray());
            _badge.color = view.Freshness.IsCurrent ? new Color(1f, 0.63f, 0f) : Palette.Stale.ToColor();
            if (view.Placed && view.ImageCorners != null)
            {
                _badge.transform.SetParent(_root, false);
                _badge.transform.localPosition = view.ImageCorners[0].ToVector3();
            }
        }

        private void FaceCamera(Transform anchor)
        {
            var view = CurrentView;
            Quaternion facing = anchor.rotation;
            foreach (var label in _labels.Values)
            {
                if (label.gameObject.activeSelf) label.transform.rotation = facing;
            }
            if (_badge.gameObject.activeSelf)
            {
                if (view != null && !view.Placed)
                {
                    // Nothing is drawn in the room: keep the reason in view, in front of the camera.
                    _badge.transform.position = anchor.TransformPoint(unplacedBadgeOffset);
                }
                _badge.transform.rotation = facing;
            }
        }

        private void HideAll()
        {
            foreach (var lr in _lines.Values)
            {
                if (lr.gameObject.activeSelf) lr.gameObject.SetActive(false);
            }
            foreach (var label in _labels.Values)
            {
                if (label.gameObject.activeSelf) label.gameObject.SetActive(false);
            }
            if (_badge != null && _badge.gameObject.activeSelf)
            {
                _badge.gameObject.SetActive(false);
            }
            _shown = null;
            CurrentView = null;
        }
    }
}
