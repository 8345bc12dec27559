using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Presentation;
using UnityEngine;

namespace Sonoguide.Runtime
{
    /// <summary>Conversions from the protocol layer's engine-free types to Unity's.</summary>
    public static class UnityConversions
    {
        /// <summary>A point in Unity metres (already converted by <c>T_unity_from_image</c>; PROTOCOL.md, "Coordinate frames and units").</summary>
        public static Vector3 ToVector3(this Point3d p)
        {
            return new Vector3((float)p.X, (float)p.Y, (float)p.Z);
        }

        /// <summary>Points in Unity metres, reusing <paramref name="buffer"/> when it is large enough.</summary>
        public static Vector3[] ToVector3(Point3d[] points, ref Vector3[] buffer)
        {
            if (buffer == null || buffer.Length != points.Length)
            {
                buffer = new Vector3[points.Length];
            }
            for (int i = 0; i < points.Length; i++)
            {
                buffer[i] = points[i].ToVector3();
            }
            return buffer;
        }

        /// <summary>A transform's world pose as the protocol layer's rigid pose (Unity metres).</summary>
        public static RigidPose ToRigidPose(this Transform t)
        {
            Vector3 p = t.position;
            Quaternion q = t.rotation;
            return new RigidPose(q.w, q.x, q.y, q.z, new Point3d(p.x, p.y, p.z));
        }

        /// <summary>The rotation of a rigid pose as a Unity quaternion.</summary>
        public static Quaternion ToQuaternion(this RigidPose pose)
        {
            return new Quaternion((float)pose.Qx, (float)pose.Qy, (float)pose.Qz, (float)pose.Qw);
        }

        /// <summary>A Unity colour.</summary>
        public static Color ToColor(this Rgba c)
        {
            return new Color(c.R, c.G, c.B, c.A);
        }

        /// <summary>Rich-text colour tag for a HUD severity.</summary>
        public static string Hex(HudSeverity severity)
        {
            switch (severity)
            {
                case HudSeverity.Ok: return "#4CD964";
                case HudSeverity.Warning: return "#FFA000";
                case HudSeverity.Alarm: return "#FF3030";
                default: return "#E0E0E0";
            }
        }
    }
}
