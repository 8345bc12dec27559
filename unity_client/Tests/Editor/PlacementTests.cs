using System;
using System.Globalization;
using System.IO;
using System.Text;
using NUnit.Framework;
using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Link;
using Sonoguide.Protocol.Placement;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>
    /// Placement under head motion: the overlay's geometry is computed by the core in the headset's frame at the capture
    /// time; placing it with the head pose of that instant (from the history, through the host clock) keeps it on the
    /// patient, placing it with the head pose at arrival moves it by the head's turn during the latency.
    /// </summary>
    [TestFixture]
    public class PlacementTests
    {
        private const long Ms = 1000000L;
        private const long LocalMinusHost = 7000 * Ms; // the two clocks' offset
        private static readonly Point3d Anatomy = new Point3d(0.05, -0.2, 0.45); // a nerve at arm's length, in the room

        /// <summary>Head at eye height turning about the vertical axis at <paramref name="degPerS"/>, local time <paramref name="localNs"/>.</summary>
        private static RigidPose Head(double degPerS, long localNs)
        {
            double angle = degPerS * Math.PI / 180.0 * (localNs / 1e9);
            return RigidPose.FromAxisAngle(0, 1, 0, angle, new Point3d(0.0, 0.1, 0.0));
        }

        /// <summary>Placement errors (m), before (head pose at arrival) and after (head pose at capture).</summary>
        private static void Errors(double degPerS, long latencyNs, out double before, out double after)
        {
            var history = new HeadPoseHistory();
            var clock = new HostClock();
            long t = 0;
            // 2 s of headset frames at 90 Hz and core messages at 25 Hz with 1-21 ms one-way delays
            for (int k = 0; t < 2000 * Ms; k++)
            {
                t = k * 11111111L;
                history.Add(t, Head(degPerS, t));
                if (k % 4 == 0)
                {
                    long delay = Ms + (long)((uint)(k * 2654435761u) % 20000000u);
                    clock.Observe(t, t - LocalMinusHost - delay);
                }
            }
            long captureLocal = t - latencyNs; // the ultrasound frame was captured latencyNs before it is drawn
            long captureHost = captureLocal - LocalMinusHost;
            var pHead = Head(degPerS, captureLocal).InverseTransform(Anatomy); // what the core sends: the anatomy in the head frame
            var current = Head(degPerS, t);
            before = Point3d.Distance(current.Transform(pHead), Anatomy);
            RigidPose anchor;
            var when = CapturePlacement.Anchor(history, clock, captureHost, current, out anchor);
            Assert.AreEqual(PlacementTime.Capture, when);
            after = Point3d.Distance(anchor.Transform(pHead), Anatomy);
        }

        [Test]
        public void AnOverlayStaysOnThePatientDuringASixtyDegreePerSecondHeadTurn()
        {
            double before, after;
            Errors(60.0, 60 * Ms, out before, out after);
            Assert.Less(after, 0.001, "below 1 mm with the head pose at capture");
            Assert.Greater(before, 0.025, "about 3 cm with the head pose at arrival");
        }

        [Test]
        public void WithoutAHostClockOrHistoryTheOverlayIsPlacedAtArrivalAndSaysSo()
        {
            var current = RigidPose.FromAxisAngle(0, 1, 0, 0.3, new Point3d(1, 2, 3));
            RigidPose anchor;
            Assert.AreEqual(PlacementTime.Arrival, CapturePlacement.Anchor(new HeadPoseHistory(), new HostClock(), 0, current, out anchor));
            Assert.AreEqual(current.Position.X, anchor.Position.X);
            var history = new HeadPoseHistory();
            history.Add(100 * Ms, current);
            var clock = new HostClock();
            clock.Observe(500 * Ms, 500 * Ms);
            Assert.AreEqual(PlacementTime.Arrival, CapturePlacement.Anchor(history, clock, 50 * Ms, current, out anchor), "before the history");
            Assert.AreEqual(PlacementTime.Arrival, CapturePlacement.Anchor(history, clock, 200 * Ms, current, out anchor), "too far past it");
            Assert.AreEqual(PlacementTime.Capture, CapturePlacement.Anchor(history, clock, 110 * Ms, current, out anchor), "within the hold");
        }

        [Test]
        public void HistoryInterpolatesAndRefusesOutOfOrderPoses()
        {
            var h = new HeadPoseHistory(4);
            h.Add(0, RigidPose.FromAxisAngle(0, 1, 0, 0.0, new Point3d(0, 0, 0)));
            h.Add(10 * Ms, RigidPose.FromAxisAngle(0, 1, 0, 0.2, new Point3d(1, 0, 0)));
            h.Add(5 * Ms, RigidPose.Identity); // older than the newest: ignored
            Assert.AreEqual(2, h.Count);
            RigidPose p;
            Assert.IsTrue(h.TryAt(5 * Ms, out p));
            Assert.AreEqual(0.5, p.Position.X, 1e-12);
            var expected = RigidPose.FromAxisAngle(0, 1, 0, 0.1, new Point3d(0, 0, 0));
            Assert.AreEqual(expected.Qy, p.Qy, 1e-12);
            for (int i = 2; i < 6; i++) h.Add(i * 10 * Ms, RigidPose.Identity);
            Assert.IsFalse(h.TryAt(15 * Ms, out p), "dropped from the ring");
            h.Clear();
            Assert.IsFalse(h.TryAt(55 * Ms, out p));
        }

        /// <summary>
        /// The table of BENCHMARKS.md: placement error against head speed and latency, before and after. Written to the
        /// file named by SONOGUIDE_PLACEMENT_TABLE when set; the assertions hold for every cell.
        /// </summary>
        [Test]
        public void PlacementErrorAgainstHeadSpeedAndLatency()
        {
            var sb = new StringBuilder("| head speed deg/s | latency ms | error at arrival mm (before) | error at capture mm (after) |\n|---|---|---|---|\n");
            foreach (double speed in new[] { 0.0, 20.0, 60.0, 120.0 })
            {
                foreach (long latency in new[] { 20L, 60L, 120L })
                {
                    double before, after;
                    Errors(speed, latency * Ms, out before, out after);
                    Assert.Less(after, 0.002, speed + " deg/s, " + latency + " ms");
                    sb.AppendFormat(CultureInfo.InvariantCulture, "| {0:F0} | {1} | {2:F2} | {3:F2} |\n", speed, latency, before * 1000, after * 1000);
                }
            }
            string path = Environment.GetEnvironmentVariable("SONOGUIDE_PLACEMENT_TABLE");
            if (!string.IsNullOrEmpty(path))
            {
                File.WriteAllText(path, sb.ToString());
            }
        }
    }
}
