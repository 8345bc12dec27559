using UnityEngine;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// Default materials and font for the overlay when none are assigned in the Inspector: an unlit, vertex-coloured,
    /// transparent, double-sided shader (<c>Sprites/Default</c>, in Unity's always-included shaders) and, for dashed lines,
    /// the same shader with a two-texel dash texture tiled along the line.
    /// </summary>
    internal static class OverlayMaterials
    {
        private static Font _font;

        internal static Material Solid(Material assigned)
        {
            if (assigned != null)
            {
                return assigned;
            }
            return new Material(FindShader()) { name = "Sonoguide Solid (runtime)" };
        }

        internal static Material Dashed(Material assigned, float dashLengthM)
        {
            Material m = assigned != null ? new Material(assigned) : new Material(FindShader());
            m.name = "Sonoguide Dashed (runtime)";
            var tex = new Texture2D(2, 1, TextureFormat.RGBA32, false)
            {
                wrapMode = TextureWrapMode.Repeat,
                filterMode = FilterMode.Point,
                name = "Sonoguide dash",
            };
            tex.SetPixels32(new[] { new Color32(255, 255, 255, 255), new Color32(255, 255, 255, 0) });
            tex.Apply(false, true);
            m.mainTexture = tex;
            // With LineTextureMode.Tile the texture repeats once per world unit times this scale: one dash plus one gap.
            m.mainTextureScale = new Vector2(1f / (2f * Mathf.Max(0.0005f, dashLengthM)), 1f);
            return m;
        }

        internal static Font DefaultFont()
        {
            if (_font == null)
            {
#if UNITY_2022_2_OR_NEWER
                _font = Resources.GetBuiltinResource<Font>("LegacyRuntime.ttf");
#else
                _font = Resources.GetBuiltinResource<Font>("Arial.ttf");
#endif
            }
            return _font;
        }

        internal static TextMesh CreateLabel(string name, Transform parent, float characterSize, Font font)
        {
            var go = new GameObject(name);
            go.transform.SetParent(parent, false);
            var renderer = go.AddComponent<MeshRenderer>();
            var text = go.AddComponent<TextMesh>();
            text.font = font;
            renderer.sharedMaterial = font.material;
            text.fontSize = 64;
            text.characterSize = characterSize;
            text.anchor = TextAnchor.LowerLeft;
            text.alignment = TextAlignment.Left;
            text.richText = true;
            return text;
        }

        private static Shader FindShader()
        {
            var shader = Shader.Find("Sprites/Default");
            if (shader == null)
            {
                shader = Shader.Find("Unlit/Color");
            }
            return shader;
        }
    }
}
