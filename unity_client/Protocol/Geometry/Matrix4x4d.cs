using System;
using System.Globalization;

namespace Sonoguide.Protocol.Geometry
{
    /// <summary>
    /// A 4×4 homogeneous transform <c>T_b_from_a</c> in double precision, column-vector convention
    /// (DESIGN.md, "Transforms"; PROTOCOL.md, "Coordinate frames and units"): <c>p_b = T_b_from_a · p_a</c>.
    /// Stored row-major, exactly as the <c>(4, 4) &lt;f8</c> wire array.
    /// </summary>
    public sealed class Matrix4x4d
    {
        private readonly double[] _m;

        /// <summary>
        /// <c>diag(0.001, 0.001, -0.001, 1)</c>: headset millimetres (right-handed, +z towards the viewer) to Unity metres
        /// (left-handed, +z forward). PROTOCOL.md: <c>T_unity_from_image = diag(0.001, 0.001, -0.001, 1) @ T_headset_from_image</c>.
        /// </summary>
        public static readonly Matrix4x4d UnityFromHeadset = Diagonal(0.001, 0.001, -0.001, 1.0);

        /// <summary>The identity.</summary>
        public static readonly Matrix4x4d Identity = Diagonal(1, 1, 1, 1);

        /// <summary>Create from 16 values in row-major order.</summary>
        public Matrix4x4d(double[] rowMajor)
        {
            if (rowMajor == null || rowMajor.Length != 16)
            {
                throw new ArgumentException("a 4x4 matrix needs 16 values", "rowMajor");
            }
            _m = (double[])rowMajor.Clone();
        }

        /// <summary>A diagonal matrix.</summary>
        public static Matrix4x4d Diagonal(double a, double b, double c, double d)
        {
            return new Matrix4x4d(new[] { a, 0, 0, 0, 0, b, 0, 0, 0, 0, c, 0, 0, 0, 0, d });
        }

        /// <summary>Element at row <paramref name="row"/>, column <paramref name="col"/>.</summary>
        public double this[int row, int col]
        {
            get { return _m[row * 4 + col]; }
        }

        /// <summary>A copy of the 16 values, row-major.</summary>
        public double[] ToRowMajor()
        {
            return (double[])_m.Clone();
        }

        /// <summary>Matrix product <c>a · b</c> (apply <paramref name="b"/> first).</summary>
        public static Matrix4x4d operator *(Matrix4x4d a, Matrix4x4d b)
        {
            var r = new double[16];
            for (int i = 0; i < 4; i++)
            {
                for (int j = 0; j < 4; j++)
                {
                    double s = 0;
                    for (int k = 0; k < 4; k++)
                    {
                        s += a._m[i * 4 + k] * b._m[k * 4 + j];
                    }
                    r[i * 4 + j] = s;
                }
            }
            return new Matrix4x4d(r);
        }

        /// <summary>True when every element is finite and the last row is <c>[0, 0, 0, 1]</c> (an affine transform).</summary>
        public bool IsAffine
        {
            get
            {
                foreach (double v in _m)
                {
                    if (double.IsNaN(v) || double.IsInfinity(v))
                    {
                        return false;
                    }
                }
                return Math.Abs(_m[12]) < 1e-12 && Math.Abs(_m[13]) < 1e-12 && Math.Abs(_m[14]) < 1e-12 && Math.Abs(_m[15] - 1.0) < 1e-12;
            }
        }

        /// <summary>Apply to the point <c>[x, y, z, 1]</c>.</summary>
        public Point3d TransformPoint(double x, double y, double z)
        {
            double px = _m[0] * x + _m[1] * y + _m[2] * z + _m[3];
            double py = _m[4] * x + _m[5] * y + _m[6] * z + _m[7];
            double pz = _m[8] * x + _m[9] * y + _m[10] * z + _m[11];
            double w = _m[12] * x + _m[13] * y + _m[14] * z + _m[15];
            if (w != 1.0)
            {
                return new Point3d(px / w, py / w, pz / w);
            }
            return new Point3d(px, py, pz);
        }

        /// <summary>Apply the linear part to the direction <c>[x, y, z, 0]</c>.</summary>
        public Point3d TransformVector(double x, double y, double z)
        {
            return new Point3d(_m[0] * x + _m[1] * y + _m[2] * z,
                               _m[4] * x + _m[5] * y + _m[6] * z,
                               _m[8] * x + _m[9] * y + _m[10] * z);
        }

        /// <summary>Largest absolute element difference to <paramref name="other"/>.</summary>
        public double MaxAbsDifference(Matrix4x4d other)
        {
            double d = 0;
            for (int i = 0; i < 16; i++)
            {
                d = Math.Max(d, Math.Abs(_m[i] - other._m[i]));
            }
            return d;
        }

        /// <inheritdoc />
        public override string ToString()
        {
            var rows = new string[4];
            for (int i = 0; i < 4; i++)
            {
                rows[i] = string.Format(CultureInfo.InvariantCulture, "[{0:G6}, {1:G6}, {2:G6}, {3:G6}]", _m[i * 4], _m[i * 4 + 1], _m[i * 4 + 2], _m[i * 4 + 3]);
            }
            return "[" + string.Join(", ", rows) + "]";
        }
    }
}
