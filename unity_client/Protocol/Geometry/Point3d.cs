using System;
using System.Globalization;

namespace Sonoguide.Protocol.Geometry
{
    /// <summary>A 3-D point or vector in double precision (Unity metres once converted; PROTOCOL.md, "Coordinate frames and units").</summary>
    public struct Point3d
    {
        /// <summary>x (Unity: right)</summary>
        public readonly double X;

        /// <summary>y (Unity: up)</summary>
        public readonly double Y;

        /// <summary>z (Unity: forward)</summary>
        public readonly double Z;

        /// <summary>Create a point.</summary>
        public Point3d(double x, double y, double z)
        {
            X = x;
            Y = y;
            Z = z;
        }

        /// <summary>Vector difference.</summary>
        public static Point3d operator -(Point3d a, Point3d b)
        {
            return new Point3d(a.X - b.X, a.Y - b.Y, a.Z - b.Z);
        }

        /// <summary>Vector sum.</summary>
        public static Point3d operator +(Point3d a, Point3d b)
        {
            return new Point3d(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
        }

        /// <summary>Scale.</summary>
        public static Point3d operator *(Point3d a, double s)
        {
            return new Point3d(a.X * s, a.Y * s, a.Z * s);
        }

        /// <summary>Euclidean length.</summary>
        public double Length
        {
            get { return Math.Sqrt(X * X + Y * Y + Z * Z); }
        }

        /// <summary>Cross product.</summary>
        public static Point3d Cross(Point3d a, Point3d b)
        {
            return new Point3d(a.Y * b.Z - a.Z * b.Y, a.Z * b.X - a.X * b.Z, a.X * b.Y - a.Y * b.X);
        }

        /// <summary>Distance between two points.</summary>
        public static double Distance(Point3d a, Point3d b)
        {
            return (a - b).Length;
        }

        /// <inheritdoc />
        public override string ToString()
        {
            return string.Format(CultureInfo.InvariantCulture, "({0:G6}, {1:G6}, {2:G6})", X, Y, Z);
        }
    }
}
