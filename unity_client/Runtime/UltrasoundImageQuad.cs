using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Presentation;
using UnityEngine;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// Shows the ultrasound image (the overlay's <c>(h, w) |u1</c> <c>image</c> array; PROTOCOL.md, topic <c>overlay</c>) on a quad
    /// spanning the image plane, under the <see cref="OverlayRenderer"/>'s root so it lines up with the outlines. Greyed out when
    /// the overlay is stale; hidden when the image cannot be placed or none was sent.
    /// </summary>
    [DisallowMultipleComponent]
    [AddComponentMenu("Sonoguide/Ultrasound Image Quad")]
    public sealed class UltrasoundImageQuad : MonoBehaviour
    {
        [Tooltip("The renderer whose overlays carry the image.")]
        [SerializeField] private OverlayRenderer overlayRenderer;

        [Tooltip("Material (unlit, textured, vertex colour, transparent). Empty: Sprites/Default.")]
        [SerializeField] private Material material;

        [Tooltip("Opacity of the image over the patient.")]
        [Range(0f, 1f)] [SerializeField] private float opacity = 0.6f;

        private GameObject _quad;
        private Mesh _mesh;
        private Material _material;
        private Texture2D _texture;
        private byte[] _rgb;
        private OverlayMessage _uploaded;
        private readonly Vector3[] _vertices = new Vector3[4];
        private readonly Color[] _colours = new Color[4];

        /// <summary>The renderer whose overlays carry the image.</summary>
        public OverlayRenderer Renderer
        {
            get { return overlayRenderer; }
            set
            {
                if (overlayRenderer != null && isActiveAndEnabled) overlayRenderer.ViewUpdated -= OnView;
                overlayRenderer = value;
                if (overlayRenderer != null && isActiveAndEnabled) overlayRenderer.ViewUpdated += OnView;
            }
        }

        private void OnEnable()
        {
            if (overlayRenderer != null)
            {
                overlayRenderer.ViewUpdated += OnView;
            }
        }

        private void OnDisable()
        {
            if (overlayRenderer != null)
            {
                overlayRenderer.ViewUpdated -= OnView;
            }
            if (_quad != null)
            {
                _quad.SetActive(false);
            }
        }

        private void OnDestroy()
        {
            if (_quad != null) Destroy(_quad);
            if (_mesh != null) Destroy(_mesh);
            if (_texture != null) Destroy(_texture);
            if (_material != null && _material != material) Destroy(_material);
        }

        private void OnView(OverlayView view, bool newContent)
        {
            var image = view.Overlay.Image;
            if (!view.Placed || view.ImageCorners == null || image == null)
            {
                if (_quad != null) _quad.SetActive(false);
                return;
            }
            EnsureQuad();
            if (_quad.transform.parent != overlayRenderer.OverlayRoot)
            {
                _quad.transform.SetParent(overlayRenderer.OverlayRoot, false);
            }
            _quad.SetActive(true);
            if (newContent || !ReferenceEquals(view.Overlay, _uploaded))
            {
                _uploaded = view.Overlay;
                Upload(image);
                for (int i = 0; i < 4; i++) _vertices[i] = view.ImageCorners[i].ToVector3();
                _mesh.vertices = _vertices;
                _mesh.RecalculateBounds();
            }
            var tint = view.ImageTint.ToColor();
            tint.a *= opacity;
            for (int i = 0; i < 4; i++) _colours[i] = tint;
            _mesh.colors = _colours;
        }

        private void EnsureQuad()
        {
            if (_quad != null)
            {
                return;
            }
            _quad = new GameObject("Ultrasound image");
            _mesh = new Mesh { name = "Sonoguide image plane" };
            _mesh.MarkDynamic();
            _mesh.vertices = _vertices;
            // Corners are top-left, top-right, bottom-right, bottom-left of the image. Texture row 0 holds image row 0 (the top),
            // so the top edge maps to v = 0.
            _mesh.uv = new[] { new Vector2(0f, 0f), new Vector2(1f, 0f), new Vector2(1f, 1f), new Vector2(0f, 1f) };
            _mesh.triangles = new[] { 0, 1, 2, 0, 2, 3 };
            _quad.AddComponent<MeshFilter>().sharedMesh = _mesh;
            var mr = _quad.AddComponent<MeshRenderer>();
            _material = material != null ? material : new Material(Shader.Find("Sprites/Default")) { name = "Sonoguide image (runtime)" };
            mr.sharedMaterial = _material;
            mr.shadowCastingMode = UnityEngine.Rendering.ShadowCastingMode.Off;
            mr.receiveShadows = false;
        }

        private void Upload(UltrasoundImage image)
        {
            if (_texture == null || _texture.width != image.Width || _texture.height != image.Height)
            {
                if (_texture != null) Destroy(_texture);
                _texture = new Texture2D(image.Width, image.Height, TextureFormat.RGB24, false)
                {
                    wrapMode = TextureWrapMode.Clamp,
                    filterMode = FilterMode.Bilinear,
                    name = "Sonoguide ultrasound",
                };
                _rgb = new byte[image.Width * image.Height * 3];
                _material.mainTexture = _texture;
            }
            var px = image.Pixels;
            for (int i = 0, j = 0; i < px.Length; i++, j += 3)
            {
                _rgb[j] = px[i];
                _rgb[j + 1] = px[i];
                _rgb[j + 2] = px[i];
            }
            _texture.LoadRawTextureData(_rgb);
            _texture.Apply(false, false);
        }
    }
}
