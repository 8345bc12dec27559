using NUnit.Framework;
using Sonoguide.Protocol.Audio;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>
    /// The microphone starts through Android's asynchronous permission flow (Quest 3): asked once, started as soon as the
    /// grant and a device are there (the device list fills only after the grant), retried after a failed start, never
    /// asked twice after a refusal, and started when the permission is granted later in the system settings.
    /// </summary>
    [TestFixture]
    public class MicrophoneStartFlowTests
    {
        [Test]
        public void StartsAfterTheGrantOnceTheDeviceAppears()
        {
            var flow = new MicrophoneStartFlow(retryS: 0.5);
            Assert.AreEqual(MicrophoneAction.RequestPermission, flow.Step(0.0, false, 0, false));
            Assert.AreEqual(MicrophoneState.WaitingForPermission, flow.State);
            for (double t = 0.1; t < 2.0; t += 0.1)
            {
                Assert.AreEqual(MicrophoneAction.None, flow.Step(t, false, 0, false), "asked only once");
            }
            Assert.AreEqual(MicrophoneAction.None, flow.Step(2.0, true, 0, false), "granted, no device listed yet");
            Assert.AreEqual(MicrophoneState.WaitingForDevice, flow.State);
            Assert.AreEqual(MicrophoneAction.None, flow.Step(2.2, true, 1, false), "next check after the retry interval");
            Assert.AreEqual(MicrophoneAction.Start, flow.Step(2.5, true, 1, false));
            Assert.AreEqual(MicrophoneAction.None, flow.Step(2.6, true, 1, true));
            Assert.AreEqual(MicrophoneState.Recording, flow.State);
            Assert.AreEqual("MIC ON", flow.Status);
        }

        [Test]
        public void StartsAtOnceWhereNoPermissionIsNeeded()
        {
            var flow = new MicrophoneStartFlow();
            Assert.AreEqual(MicrophoneAction.Start, flow.Step(0.0, true, 1, false));
        }

        [Test]
        public void ARefusalIsNeverAskedAgainButALaterGrantStarts()
        {
            var flow = new MicrophoneStartFlow();
            Assert.AreEqual(MicrophoneAction.RequestPermission, flow.Step(0.0, false, 0, false));
            flow.OnDenied();
            for (double t = 0.1; t < 60.0; t += 0.5)
            {
                Assert.AreEqual(MicrophoneAction.None, flow.Step(t, false, 0, false));
            }
            Assert.AreEqual(MicrophoneState.Denied, flow.State);
            StringAssert.Contains("DENIED", flow.Status);
            Assert.AreEqual(MicrophoneAction.Start, flow.Step(61.0, true, 1, false), "granted in the system settings");
        }

        [Test]
        public void AFailedStartIsRetriedThenGivenUp()
        {
            var flow = new MicrophoneStartFlow(retryS: 0.5, maxStartTries: 3);
            int starts = 0;
            for (double t = 0.0; t < 10.0; t += 0.1)
            {
                if (flow.Step(t, true, 1, false) == MicrophoneAction.Start) starts++;
            }
            Assert.AreEqual(3, starts);
            Assert.IsTrue(flow.GaveUp);
            StringAssert.StartsWith("MIC FAILED", flow.Status);
            flow.Reset();
            Assert.AreEqual(MicrophoneAction.Start, flow.Step(10.0, true, 1, false), "re-enabling starts over");
        }

        [Test]
        public void RecordingThatStopsIsStartedAgain()
        {
            var flow = new MicrophoneStartFlow(retryS: 0.5);
            Assert.AreEqual(MicrophoneAction.Start, flow.Step(0.0, true, 1, false));
            flow.Step(0.1, true, 1, true);
            Assert.AreEqual(MicrophoneAction.Start, flow.Step(5.0, true, 1, false));
        }
    }
}
