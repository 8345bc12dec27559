using NUnit.Framework;
using Sonoguide.Protocol.Placement;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>The headset's own tracking: only a valid head device tracked in position and rotation places overlays.</summary>
    [TestFixture]
    public class HeadTrackingStatusTests
    {
        [Test]
        public void TrackedInPositionAndRotation()
        {
            string reason;
            Assert.IsTrue(HeadTrackingStatus.Evaluate(true, true, 3u, out reason));
            Assert.IsEmpty(reason);
            Assert.IsTrue(HeadTrackingStatus.Evaluate(true, null, null, out reason), "a runtime that reports neither feature");
        }

        [Test]
        public void LostTrackingRotationOnlyOrNoDeviceHideTheOverlay()
        {
            string reason;
            Assert.IsFalse(HeadTrackingStatus.Evaluate(false, null, null, out reason));
            StringAssert.Contains("no head device", reason);
            Assert.IsFalse(HeadTrackingStatus.Evaluate(true, false, 3u, out reason));
            StringAssert.Contains("lost its tracking", reason);
            Assert.IsFalse(HeadTrackingStatus.Evaluate(true, true, HeadTrackingStatus.RotationFlag, out reason));
            StringAssert.Contains("rotation only", reason);
            Assert.IsFalse(HeadTrackingStatus.Evaluate(true, null, 0u, out reason));
        }
    }
}
