using System;
using System.Globalization;

namespace Sonoguide.Protocol.Geometry
{
    /// <summary>
    /// A rigid pose: a rotation (unit quaternion w, x, y, z) and a position, applied as <c>p' = R p + t</c>. Used for the
    /// headset's own head pose in the room (Unity metres).
    /// </summary>
    public struct RigidPose
    {
        /// <summary>Quaternion scalar part.</summary>
        public readonly double Qw;
        /// <summary>Quaternion x.</summary>
        public readonly double Qx;
        /// <summary>Quaternion y.</summary>
        public readonly double Qy;
        /// <summary>Quaternion z.</summary>
        public readonly double Qz;
        /// <summary>Position.</summary>
        public readonly Point3d Position;

        /// <summary>Create a pose; the quaternion is normalised.</summary>
        public RigidPose(double qw, double qx, double qy, double qz, Point3d position)
        {
            double n = Math.Sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
            if (!(n > 0))
            {
                throw new ArgumentException("the rotation quaternion is zero or not finite");
            }
            Qw = qw / n;
            Qx = qx / n;
            Qy = qy / n;
            Qz = qz / n;
            Position = position;
        }

        /// <summary>The identity pose.</summary>
        public static RigidPose Identity
        {
            get { return new RigidPose(1, 0, 0, 0, new Point3d(0, 0, 0)); }
        }

        /// <summary>A rotation of <paramref name="angleRad"/> about the unit axis (ax, ay, az), then a translation.</summary>
        public static RigidPose FromAxisAngle(double ax, double ay, double az, double angleRad, Point3d position)
        {
            double s = Math.Sin(angleRad / 2);
            return new RigidPose(Math.Cos(angleRad / 2), ax * s, ay * s, az * s, position);
        }

        /// <summary>Apply the pose to a point.</summary>
        public Point3d Transform(Point3d p)
        {
            // v' = v + 2 q_v x (q_v x v + w v)
            double cx = Qy * p.Z - Qz * p.Y + Qw * p.X;
            double cy = Qz * p.X - Qx * p.Z + Qw * p.Y;
            double cz = Qx * p.Y - Qy * p.X + Qw * p.Z;
            double rx = p.X + 2 * (Qy * cz - Qz * cy);
            double ry = p.Y + 2 * (Qz * cx - Qx * cz);
            double rz = p.Z + 2 * (Qx * cy - Qy * cx);
            return new Point3d(rx + Position.X, ry + Position.Y, rz + Position.Z);
        }

        /// <summary>The inverse of <see cref="Transform"/>: <c>R^T (p - t)</c>.</summary>
        public Point3d InverseTransform(Point3d p)
        {
            var inv = new RigidPose(Qw, -Qx, -Qy, -Qz, new Point3d(0, 0, 0));
            return inv.Transform(p - Position);
        }

        /// <summary>
        /// The pose a fraction <paramref name="s"/> of the way from <paramref name="a"/> to <paramref name="b"/>: spherical
        /// linear interpolation of the rotation (Shoemake, "Animating rotation with quaternion curves", SIGGRAPH 1985) and
        /// linear interpolation of the position.
        /// </summary>
        public static RigidPose Interpolate(RigidPose a, RigidPose b, double s)
        {
            double dot = a.Qw * b.Qw + a.Qx * b.Qx + a.Qy * b.Qy + a.Qz * b.Qz;
            double bw = b.Qw, bx = b.Qx, by = b.Qy, bz = b.Qz;
            if (dot < 0)
            {
                dot = -dot;
                bw = -bw;
                bx = -bx;
                by = -by;
                bz = -bz;
            }
            double wa, wb;
            if (dot > 0.9995)
            {
                wa = 1 - s;
                wb = s;
            }
            else
            {
                double theta = Math.Acos(Math.Min(1.0, dot));
                double sin = Math.Sin(theta);
                wa = Math.Sin((1 - s) * theta) / sin;
                wb = Math.Sin(s * theta) / sin;
            }
            var p = a.Position + (b.Position - a.Position) * s;
            return new RigidPose(wa * a.Qw + wb * bw, wa * a.Qx + wb * bx, wa * a.Qy + wb * by, wa * a.Qz + wb * bz, p);
        }

        /// <summary>Readable form.</summary>
        public override string ToString()
        {
            return string.Format(CultureInfo.InvariantCulture, "q=({0:F4}, {1:F4}, {2:F4}, {3:F4}) t={4}", Qw, Qx, Qy, Qz, Position);
        }
    }
}
