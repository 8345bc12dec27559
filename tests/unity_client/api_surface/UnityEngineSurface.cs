// Declarations of the UnityEngine members used by unity_client/Runtime (Unity 2021.3 Scripting API).
// Type-check only: every body throws. See README.md.
#pragma warning disable 0067, 0649, 1591
using System;

namespace UnityEngine
{
    public class Object
    {
        public string name { get { throw new NotImplementedException(); } set { } }
        public static void Destroy(Object obj) { throw new NotImplementedException(); }
        public static implicit operator bool(Object exists) { throw new NotImplementedException(); }
    }

    public class Component : Object
    {
        public Transform transform { get { throw new NotImplementedException(); } }
        public GameObject gameObject { get { throw new NotImplementedException(); } }
    }

    public class Behaviour : Component
    {
        public bool enabled { get { throw new NotImplementedException(); } set { } }
        public bool isActiveAndEnabled { get { throw new NotImplementedException(); } }
    }

    public class MonoBehaviour : Behaviour { }

    public sealed class GameObject : Object
    {
        public GameObject(string name) { throw new NotImplementedException(); }
        public Transform transform { get { throw new NotImplementedException(); } }
        public bool activeSelf { get { throw new NotImplementedException(); } }
        public void SetActive(bool value) { throw new NotImplementedException(); }
        public T AddComponent<T>() where T : Component { throw new NotImplementedException(); }
    }

    public class Transform : Component
    {
        public Transform parent { get { throw new NotImplementedException(); } set { } }
        public Vector3 position { get { throw new NotImplementedException(); } set { } }
        public Quaternion rotation { get { throw new NotImplementedException(); } set { } }
        public Vector3 localPosition { get { throw new NotImplementedException(); } set { } }
        public Quaternion localRotation { get { throw new NotImplementedException(); } set { } }
        public Vector3 localScale { get { throw new NotImplementedException(); } set { } }
        public void SetParent(Transform parent, bool worldPositionStays) { throw new NotImplementedException(); }
        public void SetPositionAndRotation(Vector3 position, Quaternion rotation) { throw new NotImplementedException(); }
        public Vector3 TransformPoint(Vector3 position) { throw new NotImplementedException(); }
    }

    public sealed class Camera : Behaviour
    {
        public static Camera main { get { throw new NotImplementedException(); } }
    }

    public struct Vector2
    {
        public float x, y;
        public Vector2(float x, float y) { throw new NotImplementedException(); }
    }

    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { throw new NotImplementedException(); }
        public static Vector3 zero { get { throw new NotImplementedException(); } }
        public static Vector3 one { get { throw new NotImplementedException(); } }
        public static Vector3 operator +(Vector3 a, Vector3 b) { throw new NotImplementedException(); }
        public static Vector3 operator /(Vector3 a, float d) { throw new NotImplementedException(); }
    }

    public struct Quaternion
    {
        public float x, y, z, w;
        public Quaternion(float x, float y, float z, float w) { throw new NotImplementedException(); }
        public static Quaternion identity { get { throw new NotImplementedException(); } }
    }

    public struct Color
    {
        public float r, g, b, a;
        public Color(float r, float g, float b, float a) { throw new NotImplementedException(); }
        public Color(float r, float g, float b) { throw new NotImplementedException(); }
    }

    public struct Color32
    {
        public byte r, g, b, a;
        public Color32(byte r, byte g, byte b, byte a) { throw new NotImplementedException(); }
    }

    public struct Mathf
    {
        public static float Max(float a, float b) { throw new NotImplementedException(); }
    }

    public class Shader : Object
    {
        public static Shader Find(string name) { throw new NotImplementedException(); }
    }

    public class Material : Object
    {
        public Material(Shader shader) { throw new NotImplementedException(); }
        public Material(Material source) { throw new NotImplementedException(); }
        public Texture mainTexture { get { throw new NotImplementedException(); } set { } }
        public Vector2 mainTextureScale { get { throw new NotImplementedException(); } set { } }
    }

    public class Texture : Object
    {
        public virtual int width { get { throw new NotImplementedException(); } set { } }
        public virtual int height { get { throw new NotImplementedException(); } set { } }
        public TextureWrapMode wrapMode { get { throw new NotImplementedException(); } set { } }
        public FilterMode filterMode { get { throw new NotImplementedException(); } set { } }
    }

    public sealed class Texture2D : Texture
    {
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain) { throw new NotImplementedException(); }
        public void SetPixels32(Color32[] colors) { throw new NotImplementedException(); }
        public void Apply(bool updateMipmaps, bool makeNoLongerReadable) { throw new NotImplementedException(); }
        public void LoadRawTextureData(byte[] data) { throw new NotImplementedException(); }
    }

    public enum TextureFormat { RGBA32 = 4, RGB24 = 3 }
    public enum TextureWrapMode { Repeat = 0, Clamp = 1 }
    public enum FilterMode { Point = 0, Bilinear = 1 }

    public sealed class Font : Object
    {
        public Material material { get { throw new NotImplementedException(); } set { } }
    }

    public sealed class Resources
    {
        public static T GetBuiltinResource<T>(string path) where T : Object { throw new NotImplementedException(); }
    }

    public enum TextAnchor { UpperLeft = 0, LowerLeft = 6 }
    public enum TextAlignment { Left = 0 }

    public sealed class TextMesh : Component
    {
        public string text { get { throw new NotImplementedException(); } set { } }
        public Font font { get { throw new NotImplementedException(); } set { } }
        public int fontSize { get { throw new NotImplementedException(); } set { } }
        public float characterSize { get { throw new NotImplementedException(); } set { } }
        public TextAnchor anchor { get { throw new NotImplementedException(); } set { } }
        public TextAlignment alignment { get { throw new NotImplementedException(); } set { } }
        public bool richText { get { throw new NotImplementedException(); } set { } }
        public Color color { get { throw new NotImplementedException(); } set { } }
    }

    public class Renderer : Component
    {
        public Material sharedMaterial { get { throw new NotImplementedException(); } set { } }
        public UnityEngine.Rendering.ShadowCastingMode shadowCastingMode { get { throw new NotImplementedException(); } set { } }
        public bool receiveShadows { get { throw new NotImplementedException(); } set { } }
    }

    public sealed class MeshRenderer : Renderer { }

    public sealed class MeshFilter : Component
    {
        public Mesh sharedMesh { get { throw new NotImplementedException(); } set { } }
    }

    public sealed class Mesh : Object
    {
        public Mesh() { throw new NotImplementedException(); }
        public Vector3[] vertices { get { throw new NotImplementedException(); } set { } }
        public Vector2[] uv { get { throw new NotImplementedException(); } set { } }
        public int[] triangles { get { throw new NotImplementedException(); } set { } }
        public Color[] colors { get { throw new NotImplementedException(); } set { } }
        public void MarkDynamic() { throw new NotImplementedException(); }
        public void RecalculateBounds() { throw new NotImplementedException(); }
    }

    public enum LineAlignment { View = 0, TransformZ = 1 }
    public enum LineTextureMode { Stretch = 0, Tile = 1 }

    public sealed class LineRenderer : Renderer
    {
        public bool useWorldSpace { get { throw new NotImplementedException(); } set { } }
        public bool loop { get { throw new NotImplementedException(); } set { } }
        public LineAlignment alignment { get { throw new NotImplementedException(); } set { } }
        public LineTextureMode textureMode { get { throw new NotImplementedException(); } set { } }
        public int numCapVertices { get { throw new NotImplementedException(); } set { } }
        public int numCornerVertices { get { throw new NotImplementedException(); } set { } }
        public float widthMultiplier { get { throw new NotImplementedException(); } set { } }
        public int positionCount { get { throw new NotImplementedException(); } set { } }
        public Color startColor { get { throw new NotImplementedException(); } set { } }
        public Color endColor { get { throw new NotImplementedException(); } set { } }
        public void SetPositions(Vector3[] positions) { throw new NotImplementedException(); }
    }

    public sealed class Time
    {
        public static float unscaledTime { get { throw new NotImplementedException(); } }
    }

    public sealed class Debug
    {
        public static void Log(object message, Object context) { throw new NotImplementedException(); }
        public static void LogWarning(object message, Object context) { throw new NotImplementedException(); }
        public static void LogError(object message, Object context) { throw new NotImplementedException(); }
    }

    public sealed class Application
    {
        public static string persistentDataPath { get { throw new NotImplementedException(); } }
        public static bool isEditor { get { throw new NotImplementedException(); } }
        public static bool isMobilePlatform { get { throw new NotImplementedException(); } }
    }

    public sealed class AudioClip : Object
    {
        public int samples { get { throw new NotImplementedException(); } }
        public int channels { get { throw new NotImplementedException(); } }
        public int frequency { get { throw new NotImplementedException(); } }
        public bool GetData(float[] data, int offsetSamples) { throw new NotImplementedException(); }
    }

    public sealed class Microphone
    {
        public static string[] devices { get { throw new NotImplementedException(); } }
        public static AudioClip Start(string deviceName, bool loop, int lengthSec, int frequency) { throw new NotImplementedException(); }
        public static void End(string deviceName) { throw new NotImplementedException(); }
        public static bool IsRecording(string deviceName) { throw new NotImplementedException(); }
        public static int GetPosition(string deviceName) { throw new NotImplementedException(); }
        public static void GetDeviceCaps(string deviceName, out int minFreq, out int maxFreq) { throw new NotImplementedException(); }
    }

    public enum KeyCode { A = 97, C = 99, F = 102, H = 104, S = 115, U = 117, X = 120 }

    public sealed class Input
    {
        public static bool GetKeyDown(KeyCode key) { throw new NotImplementedException(); }
    }

    public enum RuntimeInitializeLoadType { AfterSceneLoad = 0, BeforeSceneLoad = 1, SubsystemRegistration = 4 }

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class RuntimeInitializeOnLoadMethodAttribute : Attribute
    {
        public RuntimeInitializeOnLoadMethodAttribute(RuntimeInitializeLoadType loadType) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    [AttributeUsage(AttributeTargets.Field)]
    public class PropertyAttribute : Attribute { }

    public sealed class TooltipAttribute : PropertyAttribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    public sealed class HeaderAttribute : PropertyAttribute
    {
        public HeaderAttribute(string header) { }
    }

    public sealed class RangeAttribute : PropertyAttribute
    {
        public RangeAttribute(float min, float max) { }
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DisallowMultipleComponent : Attribute { }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DefaultExecutionOrder : Attribute
    {
        public DefaultExecutionOrder(int order) { }
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class AddComponentMenu : Attribute
    {
        public AddComponentMenu(string menuName) { }
    }
}

namespace UnityEngine.Rendering
{
    public enum ShadowCastingMode { Off = 0, On = 1 }
}

namespace UnityEngine.Events
{
    [Serializable]
    public abstract class UnityEventBase { }

    [Serializable]
    public class UnityEvent<T0, T1> : UnityEventBase
    {
        public void Invoke(T0 arg0, T1 arg1) { throw new NotImplementedException(); }
    }
}

namespace UnityEngine.Android
{
    public struct Permission
    {
        public const string Microphone = "android.permission.RECORD_AUDIO";
        public static bool HasUserAuthorizedPermission(string permission) { throw new NotImplementedException(); }
        public static void RequestUserPermission(string permission) { throw new NotImplementedException(); }
        public static void RequestUserPermission(string permission, PermissionCallbacks callbacks) { throw new NotImplementedException(); }
    }

    // Unity 2020.2+: UnityEngine.Android.PermissionCallbacks (events with the permission name).
    public class PermissionCallbacks
    {
        public event Action<string> PermissionGranted;
        public event Action<string> PermissionDenied;
        public event Action<string> PermissionDeniedAndDontAskAgain;
    }
}

namespace UnityEngine.XR
{
    using System;

    // Unity 2021.3 Scripting API, UnityEngine.XR (XR module): InputDevices, InputDevice, CommonUsages, XRNode.
    public enum XRNode { LeftEye = 0, RightEye = 1, CenterEye = 2, Head = 3, LeftHand = 4, RightHand = 5, GameController = 6, TrackingReference = 7, HardwareTracker = 8 }

    [Flags]
    public enum InputTrackingState : uint { None = 0, Position = 1, Rotation = 2, Velocity = 4, AngularVelocity = 8, Acceleration = 16, AngularAcceleration = 32, All = 63 }

    public struct InputFeatureUsage<T>
    {
        public string name { get { throw new NotImplementedException(); } }
    }

    public static class CommonUsages
    {
        public static InputFeatureUsage<bool> isTracked;
        public static InputFeatureUsage<InputTrackingState> trackingState;
        public static InputFeatureUsage<Vector3> devicePosition;
        public static InputFeatureUsage<Quaternion> deviceRotation;
    }

    public struct InputDevice
    {
        public bool isValid { get { throw new NotImplementedException(); } }
        public string name { get { throw new NotImplementedException(); } }
        public bool TryGetFeatureValue(InputFeatureUsage<bool> usage, out bool value) { throw new NotImplementedException(); }
        public bool TryGetFeatureValue(InputFeatureUsage<InputTrackingState> usage, out InputTrackingState value) { throw new NotImplementedException(); }
        public bool TryGetFeatureValue(InputFeatureUsage<Vector3> usage, out Vector3 value) { throw new NotImplementedException(); }
        public bool TryGetFeatureValue(InputFeatureUsage<Quaternion> usage, out Quaternion value) { throw new NotImplementedException(); }
    }

    public static class InputDevices
    {
        public static InputDevice GetDeviceAtXRNode(XRNode node) { throw new NotImplementedException(); }
    }
}
