using System;

namespace Sonoguide.Protocol.Geometry
{
    /// <summary>
    /// Places ultrasound-image pixels in Unity with <c>T_unity_from_image</c>
    /// (PROTOCOL.md, "Coordinate frames and units": a contour point <c>(x, y)</c> lands at
    /// <c>T_unity_from_image @ [x, y, 0, 1]</c>; image <c>x</c> right, <c>y</c> down, origin at the centre of the top-left pixel).
    /// </summary>
    /// <remarks>
    /// The results are in the Unity frame that the core's headset frame is registered to (the anchor the
    /// <c>OverlayRenderer</c> is given); the renderer uses them as local positions under that anchor.
    /// </remarks>
    public static class ImagePlane
    {
        /// <summary>One image point in Unity metres.</summary>
        public static Point3d ToUnity(Matrix4x4d tUnityFromImage, double x, double y)
        {
            return tUnityFromImage.TransformPoint(x, y, 0.0);
        }

        /// <summary>
        /// A contour given as interleaved <c>x0, y0, x1, y1, ...</c> image pixels (an <c>(N, 2)</c> array) in Unity metres.
        /// </summary>
        public static Point3d[] ContourToUnity(Matrix4x4d tUnityFromImage, float[] xy)
        {
            if (xy == null)
            {
                throw new ArgumentNullException("xy");
            }
            if (xy.Length % 2 != 0)
            {
                throw new ArgumentException("contour must hold (x, y) pairs", "xy");
            }
            var points = new Point3d[xy.Length / 2];
            for (int i = 0; i < points.Length; i++)
            {
                points[i] = tUnityFromImage.TransformPoint(xy[2 * i], xy[2 * i + 1], 0.0);
            }
            return points;
        }

        /// <summary>
        /// The outer corners of a <paramref name="width"/> × <paramref name="height"/> image in Unity metres, in the order
        /// top-left, top-right, bottom-right, bottom-left. Pixel centres are at integer coordinates, so the image's edges
        /// lie half a pixel outside them (at -0.5 and size - 0.5).
        /// </summary>
        public static Point3d[] ImageCorners(Matrix4x4d tUnityFromImage, int width, int height)
        {
            double x0 = -0.5, y0 = -0.5, x1 = width - 0.5, y1 = height - 0.5;
            return new[]
            {
                tUnityFromImage.TransformPoint(x0, y0, 0.0),
                tUnityFromImage.TransformPoint(x1, y0, 0.0),
                tUnityFromImage.TransformPoint(x1, y1, 0.0),
                tUnityFromImage.TransformPoint(x0, y1, 0.0),
            };
        }

        /// <summary>Unity metres spanned by one image pixel along image x (columns) and y (rows).</summary>
        public static void PixelSizeMetres(Matrix4x4d tUnityFromImage, out double alongX, out double alongY)
        {
            alongX = tUnityFromImage.TransformVector(1, 0, 0).Length;
            alongY = tUnityFromImage.TransformVector(0, 1, 0).Length;
        }
    }
}
