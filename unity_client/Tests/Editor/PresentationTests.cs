using System;
using NUnit.Framework;
using Sonoguide.Protocol.Geometry;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Presentation;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>Staleness, freeze and drawing rules (PROTOCOL.md, overlay fields <c>valid_until_ns</c>, <c>frozen</c>, <c>structures</c>, <c>needle</c>).</summary>
    [TestFixture]
    public class FreshnessTests
    {
        private const long Ms = 1000000L;
        private const long T0 = 1790000000000000000L; // capture time of the golden messages; valid until T0 + 200 ms

        [Test]
        public void CurrentOnlyBeforeValidUntilMinusTheMargin()
        {
            var o = TestMessages.Overlay();
            Assert.AreEqual(T0 + 200 * Ms, o.ValidUntilNs);
            Assert.IsTrue(o.IsCurrent(T0 + 50 * Ms, true));
            Assert.IsTrue(o.IsCurrent(T0 + 194 * Ms, true));
            Assert.IsFalse(o.IsCurrent(T0 + 195 * Ms, true), "5 ms safety margin");
            Assert.IsFalse(o.IsCurrent(T0 + 200 * Ms, true, 0), "at valid_until_ns it is stale");
            Assert.IsTrue(o.IsCurrent(T0 + 199 * Ms, true, 0));
            Assert.IsFalse(o.IsCurrent(T0 + 10 * 1000 * Ms, true));
        }

        [Test]
        public void StaleWheneverTheLinkIsDownEvenIfFresh()
        {
            var o = TestMessages.Overlay();
            Assert.IsFalse(o.IsCurrent(T0 + 10 * Ms, false));
            var v = OverlayFreshness.Evaluate(o, T0 + 10 * Ms, false, true);
            Assert.AreEqual(StaleReason.LinkDown, v.Reason);
            Assert.AreEqual("STALE (link down)", new FreshnessVerdict(Freshness.Stale, StaleReason.LinkDown, 0).Label);
            Assert.AreEqual("STALE 0.0 s (link down)", v.Label);
        }

        [Test]
        public void StaleWithoutAHostClock()
        {
            var v = OverlayFreshness.Evaluate(TestMessages.Overlay(), 0, true, false);
            Assert.AreEqual(StaleReason.NoClock, v.Reason);
            Assert.IsFalse(v.IsCurrent);
        }

        [Test]
        public void ExpiredVerdictCarriesTheAge()
        {
            var v = OverlayFreshness.Evaluate(TestMessages.Overlay(), T0 + 1500 * Ms, true, true);
            Assert.AreEqual(StaleReason.Expired, v.Reason);
            Assert.AreEqual(1500 * Ms, v.AgeNs);
            Assert.AreEqual("STALE 1.5 s (expired)", v.Label);
            Assert.AreEqual(string.Empty, OverlayFreshness.Evaluate(TestMessages.Overlay(), T0, true, true).Label);
        }

        [Test]
        public void FrozenOverlayIsCurrentOnlyWhileTheCoreKeepsSendingIt()
        {
            var o = TestMessages.Overlay("overlay_frozen");
            Assert.IsTrue(o.Frozen);
            Assert.AreEqual(T0 - 2000 * Ms, o.FrozenAtNs.Value, "the content is 2 s old");
            Assert.IsTrue(o.IsCurrent(T0 + 100 * Ms, true), "held content is shown (with a FROZEN badge) while fresh messages arrive");
            Assert.IsFalse(o.IsCurrent(T0 + 300 * Ms, true), "when messages stop the held content turns stale like any other");
            Assert.IsFalse(o.IsCurrent(T0 + 100 * Ms, false));
        }
    }

    [TestFixture]
    public class OverlayPresenterTests
    {
        private const long Ms = 1000000L;
        private const long T0 = 1790000000000000000L;

        private static OverlayView Current(OverlayMessage o)
        {
            return OverlayPresenter.Present(o, OverlayFreshness.Evaluate(o, T0 + 20 * Ms, true, true), T0 + 20 * Ms);
        }

        private static OverlayView Stale(OverlayMessage o)
        {
            return OverlayPresenter.Present(o, OverlayFreshness.Evaluate(o, T0 + 900 * Ms, true, true), T0 + 900 * Ms);
        }

        [Test]
        public void NerveYellowSolidVesselRedDashedWhenUncertain()
        {
            var view = Current(TestMessages.Overlay());
            Assert.IsTrue(view.Freshness.IsCurrent);
            Assert.AreEqual(2, view.Structures.Count);
            var nerve = view.Structures[0];
            Assert.AreEqual("structure:7", nerve.Key);
            Assert.AreEqual(StructureClass.Nerve, nerve.Class);
            Assert.AreEqual(Palette.Nerve.WithAlpha(1f), nerve.Colour);
            Assert.AreEqual(StrokeStyle.Solid, nerve.Style);
            Assert.IsTrue(nerve.Closed);
            Assert.AreEqual(string.Empty, nerve.Label);
            var vessel = view.Structures[1];
            Assert.AreEqual("uncertain", view.Overlay.Structures[1].Validity);
            Assert.AreEqual(StrokeStyle.Dashed, vessel.Style, "uncertain is never drawn as certain");
            Assert.AreEqual(Palette.UncertainAlpha, vessel.Colour.A);
            Assert.AreEqual(Palette.Vessel.R, vessel.Colour.R);
            Assert.AreEqual("vessel?", vessel.Label);
            CollectionAssert.IsEmpty(view.Badges);
        }

        [Test]
        public void StaleContentIsGreyDashedAndLabelled()
        {
            var view = Stale(TestMessages.Overlay());
            Assert.IsFalse(view.Freshness.IsCurrent);
            foreach (var line in view.Structures)
            {
                Assert.AreEqual(Palette.Stale.R, line.Colour.R);
                Assert.AreEqual(Palette.Stale.G, line.Colour.G);
                Assert.AreEqual(StrokeStyle.Dashed, line.Style);
            }
            Assert.IsNull(view.NeedleShaft, "the needle path is never drawn stale");
            Assert.IsNull(view.NeedleTrajectory);
            Assert.AreEqual(Proximity.Unknown, view.Proximity, "no warning colour on stale data");
            Assert.AreEqual(string.Empty, view.ProximityLabel);
            StringAssert.StartsWith("STALE 0.9 s", view.Badges[0]);
            Assert.AreEqual(Palette.Stale.R, view.ImageTint.R);
            Assert.IsFalse(view.Removed);
            Assert.AreEqual(string.Empty, view.RemovedReason);
        }

        [Test]
        public void StaleContentLeavesTheRoomOneSecondPastItsValidity()
        {
            var o = TestMessages.Overlay(); // valid until T0 + 200 ms
            var kept = OverlayPresenter.Present(o, OverlayFreshness.Evaluate(o, T0 + 1200 * Ms, true, true), T0 + 1200 * Ms);
            Assert.IsFalse(kept.Removed, "1.0 s past validity: still shown, grey");
            Assert.IsNotEmpty(kept.Structures);
            var gone = OverlayPresenter.Present(o, OverlayFreshness.Evaluate(o, T0 + 1201 * Ms, true, true), T0 + 1201 * Ms);
            Assert.IsTrue(gone.Removed);
            Assert.IsFalse(gone.Placed);
            Assert.IsNull(gone.ImageCorners);
            CollectionAssert.IsEmpty(gone.Structures);
            Assert.IsNull(gone.NeedleShaft);
            Assert.IsNull(gone.NeedleTrajectory);
            Assert.AreEqual("NO GUIDANCE: overlay expired 1.0 s ago", gone.RemovedReason);
            CollectionAssert.AreEqual(new[] { gone.RemovedReason }, gone.Badges, "the HUD says why nothing is shown");
            var hour = OverlayPresenter.Present(o, OverlayFreshness.Evaluate(o, T0 + 3600000 * Ms, true, true), T0 + 3600000 * Ms);
            Assert.IsTrue(hour.Removed, "an hour later nothing of it is in the room");
        }

        [Test]
        public void RemovalLimitIsConfigurableAndAppliesWhenTheLinkIsDown()
        {
            var o = TestMessages.Overlay();
            var options = new PresentationOptions { RemoveStaleAfterNs = 100 * Ms };
            var down = OverlayPresenter.Present(o, OverlayFreshness.Evaluate(o, T0 + 350 * Ms, false, true), T0 + 350 * Ms, options);
            Assert.IsTrue(down.Removed);
            Assert.AreEqual("NO GUIDANCE: link to the core down 0.2 s ago", down.RemovedReason); // 150 ms past validity
            var noClock = OverlayPresenter.Present(o, OverlayFreshness.Evaluate(o, 0, true, false), 0);
            Assert.IsTrue(noClock.Removed, "without a host clock the age is unknown: nothing is placed");
            StringAssert.StartsWith("NO GUIDANCE", noClock.RemovedReason);
        }

        [Test]
        public void NeedleAndTrajectoryColouredByProximity()
        {
            var view = Current(TestMessages.Overlay());
            Assert.AreEqual(Proximity.Caution, view.Proximity);
            Assert.AreEqual(Palette.Caution, view.NeedleShaft.Colour);
            Assert.AreEqual(StrokeStyle.Solid, view.NeedleShaft.Style);
            CollectionAssert.AreEqual(new[] { 0f, 0.5f, 3.25f, 2.5f }, view.NeedleShaft.ImagePx, "entry to tip");
            Assert.AreEqual(StrokeStyle.Dashed, view.NeedleTrajectory.Style, "a prediction is always dashed");
            Assert.AreEqual(Palette.Caution.R, view.NeedleTrajectory.Colour.R);
            Assert.AreEqual("CAUTION 2.4 mm to nerve", view.ProximityLabel);
            var stop = Current(TestMessages.OverlayWithBody(b => ((JsonObject)b["needle"]).Set("proximity", JsonValue.From("stop"))));
            Assert.AreEqual(Palette.Stop, stop.NeedleShaft.Colour);
            StringAssert.StartsWith("STOP", stop.ProximityLabel);
            var safe = Current(TestMessages.OverlayWithBody(b => ((JsonObject)b["needle"]).Set("proximity", JsonValue.From("safe"))));
            Assert.AreEqual(Palette.Safe, safe.NeedleShaft.Colour);
            var unsure = Current(TestMessages.OverlayWithBody(b => ((JsonObject)b["needle"]).Set("validity", JsonValue.From("uncertain"))));
            Assert.AreEqual(StrokeStyle.Dashed, unsure.NeedleShaft.Style);
            Assert.AreEqual("needle?", unsure.NeedleShaft.Label);
        }

        [Test]
        public void FrozenBadgeShowsHowLongTheContentIsHeld()
        {
            var view = Current(TestMessages.Overlay("overlay_frozen"));
            Assert.IsTrue(view.Frozen);
            CollectionAssert.Contains(view.Badges, "FROZEN 2 s");
        }

        [Test]
        public void LostPoseIsNeverPlacedInTheRoom()
        {
            var view = Current(TestMessages.Overlay("overlay_pose_lost"));
            Assert.IsFalse(view.Placed);
            Assert.IsNull(view.ImageCorners);
            foreach (var line in view.Structures) Assert.IsNull(line.Points);
            Assert.IsNull(view.NeedleShaft.Points);
            StringAssert.Contains("not placed", view.PlacementNote);
            CollectionAssert.Contains(view.Badges, "PROBE LOST");
        }

        [Test]
        public void HiddenLayersAreNotDrawn()
        {
            var view = Current(TestMessages.OverlayWithBody(b =>
            {
                var layers = (JsonObject)b["layers"];
                layers.Set("nerve", JsonValue.From(false));
                layers.Set("needle", JsonValue.From(false));
            }));
            Assert.AreEqual(1, view.Structures.Count);
            Assert.AreEqual(StructureClass.Vessel, view.Structures[0].Class);
            Assert.IsNull(view.NeedleShaft);
            Assert.IsNull(view.NeedleTrajectory);
        }

        [Test]
        public void LowQualityIsShownWithItsReasons()
        {
            var view = Current(TestMessages.OverlayWithBody(b =>
            {
                b.Set("quality", JsonValue.From(0.25));
                b.Set("quality_flags", new JsonArray().Add(JsonValue.From("dark")).Add(JsonValue.From("no_nerve")));
            }));
            CollectionAssert.Contains(view.Badges, "LOW QUALITY 0.25: dark, no_nerve");
        }

        [Test]
        public void OutlinesArePlacedWithTheUnityTransform()
        {
            var o = TestMessages.Overlay();
            var view = Current(o);
            var nerve = view.Structures[0];
            for (int i = 0; i < o.Structures[0].PointCount; i++)
            {
                var expected = o.TUnityFromImage.TransformPoint(o.Structures[0].ContourPx[2 * i], o.Structures[0].ContourPx[2 * i + 1], 0);
                Assert.AreEqual(0.0, Point3d.Distance(expected, nerve.Points[i]), 1e-15);
            }
            Assert.AreEqual(4, view.ImageCorners.Length);
        }
    }

    [TestFixture]
    public class GeometryTests
    {
        [Test]
        public void UnityConversionFlipsZAndScalesToMetres()
        {
            // headset: right-handed, +z towards the viewer, mm; Unity: left-handed, +z forward, m (PROTOCOL.md)
            var p = Matrix4x4d.UnityFromHeadset.TransformPoint(10, 20, 300);
            Assert.AreEqual(0.010, p.X, 1e-15);
            Assert.AreEqual(0.020, p.Y, 1e-15);
            Assert.AreEqual(-0.300, p.Z, 1e-15);
        }

        [Test]
        public void ContourPointLandsAtTheTransformOfXY0()
        {
            // image px → headset mm: 0.1 mm/px, image x along headset x, image y downwards (−y), 400 mm in front (−z)
            var tHeadset = new Matrix4x4d(new[] { 0.1, 0, 0, -5.0, 0, -0.1, 0, 20.0, 0, 0, 1, -400.0, 0, 0, 0, 1 });
            var tUnity = Matrix4x4d.UnityFromHeadset * tHeadset;
            var p = ImagePlane.ToUnity(tUnity, 100, 50);
            Assert.AreEqual(0.005, p.X, 1e-12, "(100 px * 0.1 - 5) mm");
            Assert.AreEqual(0.015, p.Y, 1e-12, "(20 - 50 px * 0.1) mm, image y points down");
            Assert.AreEqual(0.400, p.Z, 1e-12, "in front of the viewer is +z in Unity");
            var pts = ImagePlane.ContourToUnity(tUnity, new[] { 100f, 50f, 0f, 0f });
            Assert.AreEqual(0.0, Point3d.Distance(p, pts[0]), 1e-15);
            Assert.AreEqual(-0.005, pts[1].X, 1e-12);
        }

        [Test]
        public void ImageCornersLieHalfAPixelOutsideThePixelCentres()
        {
            var t = Matrix4x4d.Diagonal(0.001, 0.001, 0.001, 1); // 1 mm per px in metres
            var c = ImagePlane.ImageCorners(t, 8, 6);
            Assert.AreEqual(-0.0005, c[0].X, 1e-15);
            Assert.AreEqual(-0.0005, c[0].Y, 1e-15);
            Assert.AreEqual(0.0075, c[2].X, 1e-15);
            Assert.AreEqual(0.0055, c[2].Y, 1e-15);
            Assert.AreEqual(0.0075, c[1].X, 1e-15);
            Assert.AreEqual(0.0055, c[3].Y, 1e-15);
        }

        [Test]
        public void GoldenPixelSizeMatchesMmPerPx()
        {
            var o = TestMessages.Overlay();
            double x, y;
            ImagePlane.PixelSizeMetres(o.TUnityFromImage, out x, out y);
            Assert.AreEqual(o.MmPerPxCol / 1000.0, x, 1e-9, "one column step is mm_per_px[1] mm");
            Assert.AreEqual(o.MmPerPxRow / 1000.0, y, 1e-9, "one row step is mm_per_px[0] mm");
        }

        [Test]
        public void MatrixProductComposesRightToLeft()
        {
            var scale = Matrix4x4d.Diagonal(2, 2, 2, 1);
            var shift = new Matrix4x4d(new double[] { 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 });
            var p = (shift * scale).TransformPoint(1, 1, 1); // scale first, then shift
            Assert.AreEqual(3.0, p.X);
            Assert.AreEqual(2.0, p.Y);
            Assert.IsTrue(shift.IsAffine);
            Assert.IsFalse(Matrix4x4d.Diagonal(1, 1, 1, 2).IsAffine);
            Assert.Throws<ArgumentException>(() => new Matrix4x4d(new double[15]));
        }
    }
}
