using System;
using NUnit.Framework;
using Sonoguide.Protocol.Link;

namespace Sonoguide.Protocol.Tests
{
    [TestFixture]
    public class SequenceTrackerTests
    {
        [Test]
        public void ClassifiesFirstInOrderGapAndRestart()
        {
            var t = new SequenceTracker();
            Assert.AreEqual(SequenceEvent.First, t.Observe(10).Event);
            Assert.AreEqual(SequenceEvent.InOrder, t.Observe(11).Event);
            var gap = t.Observe(15);
            Assert.AreEqual(SequenceEvent.Gap, gap.Event);
            Assert.AreEqual(3, gap.Missed, "12, 13 and 14 were lost");
            Assert.AreEqual(SequenceEvent.InOrder, t.Observe(16).Event);
            Assert.AreEqual(SequenceEvent.Restart, t.Observe(1).Event, "the core restarted its counter");
            Assert.AreEqual(SequenceEvent.InOrder, t.Observe(2).Event);
            Assert.AreEqual(SequenceEvent.Restart, t.Observe(2).Event, "a repeated number is not in order");
            Assert.AreEqual(7, t.Received);
            Assert.AreEqual(3, t.Lost);
            Assert.AreEqual(2, t.Restarts);
        }

        [Test]
        public void ResetMakesTheNextMessageFirstAndKeepsCounters()
        {
            var t = new SequenceTracker();
            t.Observe(1);
            t.Observe(5);
            t.Reset();
            Assert.IsNull(t.Last);
            Assert.AreEqual(SequenceEvent.First, t.Observe(100).Event);
            Assert.AreEqual(3, t.Lost);
        }

        [Test]
        public void TopicsAreTrackedIndependently()
        {
            var book = new SequenceBook();
            Assert.AreEqual(SequenceEvent.First, book.Observe("overlay", 42).Event);
            Assert.AreEqual(SequenceEvent.First, book.Observe("state", 7).Event);
            Assert.AreEqual(SequenceEvent.InOrder, book.Observe("overlay", 43).Event);
            Assert.AreEqual(SequenceEvent.Gap, book.Observe("state", 9).Event);
            Assert.AreEqual(SequenceEvent.Gap, book.Observe("overlay", 50).Event);
            Assert.AreEqual(1, book.For("state").Lost);
            Assert.AreEqual(6, book.For("overlay").Lost);
            Assert.AreEqual(7, book.TotalLost);
            Assert.IsNull(book.For("voice"));
        }
    }

    [TestFixture]
    public class LinkMonitorTests
    {
        private const long Ms = 1000000L;

        [Test]
        public void WaitsUntilTheFirstHeartbeat()
        {
            var link = new LinkMonitor();
            Assert.AreEqual(LinkState.Waiting, link.StateAt(0));
            Assert.IsFalse(link.IsUp(0));
        }

        [Test]
        public void GoesDownAfterThreeMissedPeriodsAtTenHertz()
        {
            var link = new LinkMonitor(100 * Ms);
            long host = 5000 * Ms;
            for (int i = 0; i < 10; i++)
            {
                link.OnHeartbeat(1000 * Ms + i * 100 * Ms, host + i * 100 * Ms, 100 + i);
            }
            long last = 1000 * Ms + 900 * Ms;
            Assert.AreEqual(100 * Ms, link.PeriodNs);
            Assert.AreEqual(300 * Ms, link.TimeoutNs, "PROTOCOL.md: 0.3 s at 10 Hz");
            Assert.AreEqual(LinkState.Up, link.StateAt(last + 299 * Ms));
            Assert.AreEqual(LinkState.Up, link.StateAt(last + 300 * Ms));
            Assert.AreEqual(LinkState.Down, link.StateAt(last + 301 * Ms));
            link.OnHeartbeat(last + 400 * Ms, host + 1000 * Ms, 110);
            Assert.AreEqual(LinkState.Up, link.StateAt(last + 401 * Ms), "a heartbeat brings the link back");
        }

        [Test]
        public void LearnsASlowerPeriodFromTheCoresOwnStamps()
        {
            var link = new LinkMonitor(100 * Ms);
            for (int i = 0; i < 20; i++)
            {
                // 5 Hz on the core's clock, with ±30 ms of network jitter on arrival
                link.OnHeartbeat(i * 200 * Ms + (i % 2 == 0 ? 30 : -30) * Ms, 1000 * Ms + i * 200 * Ms, i + 1);
            }
            Assert.AreEqual(200 * Ms, link.PeriodNs, "learned from t_publish_ns, not from the jittery arrival");
            Assert.AreEqual(600 * Ms, link.TimeoutNs);
        }

        [Test]
        public void LostHeartbeatsDoNotInflateThePeriodAndItStaysWithinTheContract()
        {
            var link = new LinkMonitor(100 * Ms);
            link.OnHeartbeat(0, 0, 1);
            link.OnHeartbeat(500 * Ms, 500 * Ms, 6); // four heartbeats lost in between
            Assert.AreEqual(100 * Ms, link.PeriodNs);
            var slow = new LinkMonitor(100 * Ms);
            slow.OnHeartbeat(0, 0, 1);
            slow.OnHeartbeat(2000 * Ms, 2000 * Ms, 2); // a stalled core: clamp to 5 Hz
            Assert.AreEqual(LinkMonitor.MaxPeriodNs, slow.PeriodNs);
        }

        [Test]
        public void ResetWaitsForANewHeartbeat()
        {
            var link = new LinkMonitor();
            link.OnHeartbeat(0, 0, 1);
            Assert.IsTrue(link.IsUp(10 * Ms));
            link.Reset();
            Assert.AreEqual(LinkState.Waiting, link.StateAt(10 * Ms));
            Assert.AreEqual(0, link.Count);
        }

        [Test]
        public void RefusesAPeriodOutsideTheContract()
        {
            Assert.Throws<System.ArgumentOutOfRangeException>(() => new LinkMonitor(300 * Ms));
            Assert.Throws<System.ArgumentOutOfRangeException>(() => new LinkMonitor(1 * Ms));
        }
    }

    [TestFixture]
    public class HostClockTests
    {
        [Test]
        public void EstimatesTheOffsetFromTheFastestMessage()
        {
            var clock = new HostClock();
            Assert.IsFalse(clock.HasEstimate);
            Assert.Throws<System.InvalidOperationException>(() => clock.ToHost(0));
            const long offset = 123456789L; // local = host + offset
            long[] delays = { 4000000, 1200000, 9000000, 2500000 };
            for (int i = 0; i < delays.Length; i++)
            {
                long host = 1790000000000000000L + i * 40000000L;
                clock.Observe(host + offset + delays[i], host);
            }
            Assert.AreEqual(offset + 1200000, clock.OffsetNs, "offset plus the minimum one-way delay");
            long localNow = 555000000000L;
            Assert.AreEqual(localNow - offset - 1200000, clock.ToHost(localNow));
            Assert.AreEqual(localNow, clock.ToLocal(clock.ToHost(localNow)));
        }

        [Test]
        public void ForgetsSamplesOutsideTheWindow()
        {
            var clock = new HostClock();
            clock.Observe(100, 0); // a very fast sample
            for (int i = 0; i < HostClock.WindowSize; i++) clock.Observe(1000 + i, i); // offset 1000 afterwards
            Assert.AreEqual(1000, clock.OffsetNs);
            clock.Reset();
            Assert.IsFalse(clock.HasEstimate);
        }

        private const long Ms = 1000000L;
        private const long Host0 = 1790000000000000000L;

        /// <summary>Deterministic one-way delays: 1-21 ms, uniformly spread (a LAN with Wi-Fi jitter).</summary>
        private static long Delay(int i)
        {
            uint x = (uint)(i * 2654435761u);
            return Ms + (long)(x % 20000000u);
        }

        [Test]
        public void ABackwardStepOfTheCoresClockIsFollowedWithinASecond()
        {
            var clock = new HostClock();
            const long offset = 5000 * Ms;
            long step = 0;
            for (int i = 0; i < 25 * 20; i++) // 20 s at 25 Hz; the core's clock steps back 1 s at 10 s
            {
                long trueHost = Host0 + i * 40 * Ms;
                if (i == 250)
                {
                    step = -1000 * Ms;
                }
                long local = trueHost + offset + Delay(i);
                clock.Observe(local, trueHost + step);
                if (i == 249 || i >= 250 + 20) // before the step, and 0.8 s after it
                {
                    long err = clock.ToHost(local) - (trueHost + step);
                    Assert.That(err, Is.InRange(0L, 25 * Ms), "message " + i);
                }
            }
            Assert.AreEqual(1, clock.Steps);
        }

        [Test]
        public void AForwardStepIsFollowedAtOnce()
        {
            var clock = new HostClock();
            for (int i = 0; i < 100; i++) clock.Observe(Host0 + i * 40 * Ms + 7 * Ms, Host0 + i * 40 * Ms);
            long host = Host0 + 100 * 40 * Ms + 1000 * Ms; // the core's clock jumped 1 s ahead
            clock.Observe(host - 1000 * Ms + 7 * Ms, host);
            Assert.AreEqual(host, clock.ToHost(host - 1000 * Ms + 7 * Ms));
            Assert.AreEqual(1, clock.Steps);
        }

        [Test]
        public void DelaySpikesDoNotMoveTheEstimate()
        {
            var clock = new HostClock();
            for (int i = 0; i < 200; i++)
            {
                long host = Host0 + i * 40 * Ms;
                long spike = i >= 100 && i < 110 ? 300 * Ms : 0; // 0.4 s of messages 300 ms late (a Wi-Fi stall)
                clock.Observe(host + Delay(i) + spike, host);
            }
            Assert.AreEqual(0, clock.Steps);
            Assert.That(clock.OffsetNs, Is.InRange(Ms, 2 * Ms), "still the fastest delay");
        }

        [TestCase(200.0)]
        [TestCase(-200.0)]
        public void DriftOfTwoHundredPpmStaysInsideTheFreshnessMargin(double ppm)
        {
            var clock = new HostClock();
            long worst = 0;
            for (int i = 0; i < 25 * 120; i++) // two minutes at 25 Hz
            {
                long host = i * 40 * Ms;
                long local = (long)(host * (1.0 + ppm * 1e-6)) + Delay(i);
                clock.Observe(local, host);
                long err = clock.ToHost(local) - host;
                if (i > 25)
                {
                    worst = Math.Max(worst, Math.Abs(err));
                }
            }
            Assert.Less(worst, 25 * Ms, "within the one-way delay plus drift over a window");
            Assert.AreEqual(0, clock.Steps);
        }

        [Test]
        public void AReconnectStartsANewWindow()
        {
            var clock = new HostClock();
            for (int i = 0; i < 50; i++) clock.Observe(Host0 + i * 40 * Ms + 2 * Ms, Host0 + i * 40 * Ms);
            clock.MarkReconnected();
            Assert.IsTrue(clock.HasEstimate, "until the next message the old estimate still stands");
            long host = Host0 - 3000 * Ms; // a restarted core whose clock is 3 s behind
            clock.Observe(host + 9 * Ms + 50 * 40 * Ms, host);
            Assert.AreEqual(9 * Ms + 50 * 40 * Ms, clock.OffsetNs, "the first sample after the reconnect, not the old minimum");
        }

        [Test]
        public void UncertaintyIsTheTypicalDelayAboveTheFastest()
        {
            var clock = new HostClock();
            Assert.AreEqual(0, clock.UncertaintyNs);
            for (int i = 0; i < 101; i++) clock.Observe(Host0 + i * 40 * Ms + (1 + i % 11) * Ms, Host0 + i * 40 * Ms);
            Assert.AreEqual(5 * Ms, clock.UncertaintyNs);
        }

        [Test]
        public void MonotonicClockAdvances()
        {
            long a = MonotonicClock.NowNs();
            System.Threading.Thread.Sleep(5);
            long b = MonotonicClock.NowNs();
            Assert.Greater(b, a + 1000000L);
        }
    }
}
