using System.Collections.Generic;
using NUnit.Framework;
using Sonoguide.Protocol.Client;
using Sonoguide.Protocol.Link;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Presentation;

namespace Sonoguide.Protocol.Tests
{
    [TestFixture]
    public class ReconnectBackoffTests
    {
        [Test]
        public void DoublesUpToTheCeilingWithJitterAndResets()
        {
            var b = new ReconnectBackoff(250, 5000, seed: 7);
            int[] nominal = { 250, 500, 1000, 2000, 4000, 5000, 5000 };
            foreach (int n in nominal)
            {
                int d = b.NextDelayMs();
                Assert.GreaterOrEqual(d, (int)(0.8 * n) - 1, "attempt " + b.Attempt);
                Assert.LessOrEqual(d, System.Math.Min(5000, (int)(1.2 * n) + 1), "attempt " + b.Attempt);
            }
            b.Reset();
            Assert.LessOrEqual(b.NextDelayMs(), 301);
        }

        [Test]
        public void OptionsAreValidated()
        {
            Assert.DoesNotThrow(() => new ClientOptions().Validate());
            Assert.Throws<System.ArgumentException>(() => new ClientOptions { DataEndpoint = "localhost:5556" }.Validate());
            Assert.Throws<System.ArgumentException>(() => new ClientOptions { ControlEndpoint = "tcp://127.0.0.1:5556" }.Validate());
            Assert.Throws<System.ArgumentException>(() => new ClientOptions { HeartbeatPeriodMs = 500 }.Validate());
            Assert.Throws<System.ArgumentException>(() => new ClientOptions { ConnectGraceMs = 100 }.Validate());
            Assert.Throws<System.ArgumentException>(() => new ClientOptions { AudioEndpoint = "udp://x" }.Validate());
        }
    }

    [TestFixture]
    public class HudModelTests
    {
        private static HudInputs Inputs()
        {
            return new HudInputs
            {
                Link = LinkState.Up,
                State = (StateMessage)MessageParser.Parse(GoldenFiles.Frames("state")),
                HostClockKnown = true,
                HostNowNs = 1790000000000000000L + 1200000000L, // pending deadline is T0 + 5 s
                LocalNowNs = 10000000000L,
            };
        }

        private static List<string> Texts(List<HudLine> lines)
        {
            var t = new List<string>();
            foreach (var l in lines) t.Add(l.Text);
            return t;
        }

        [Test]
        public void ShowsLinkTrackingRecordingAndThePendingConfirmation()
        {
            var lines = HudModel.Build(Inputs());
            var texts = Texts(lines);
            Assert.AreEqual("LINK OK", texts[0]);
            Assert.AreEqual(HudSeverity.Ok, lines[0].Severity);
            CollectionAssert.Contains(texts, "PROBE NOT TRACKED (stale)");
            CollectionAssert.Contains(texts, "REC");
            CollectionAssert.Contains(texts, "Say \"confirm\" to hide all (4 s)");
            CollectionAssert.Contains(texts, "hidden: vessel");
        }

        [Test]
        public void HeadsetTrackingLostAndARemovedOverlayAreSaidFirst()
        {
            var h = Inputs();
            h.OverlayNotice = "NO GUIDANCE: overlay expired 1.4 s ago";
            var lines = HudModel.Build(h);
            Assert.AreEqual("NO GUIDANCE: overlay expired 1.4 s ago", lines[1].Text);
            Assert.AreEqual(HudSeverity.Alarm, lines[1].Severity);
            h.HeadsetTracked = false;
            lines = HudModel.Build(h);
            Assert.AreEqual("HEADSET TRACKING LOST - overlay hidden", lines[1].Text);
            Assert.AreEqual(HudSeverity.Alarm, lines[1].Severity);
            CollectionAssert.DoesNotContain(Texts(lines), "NO GUIDANCE: overlay expired 1.4 s ago");
        }

        [Test]
        public void AnOverloadedCoreAndUnavailableCommandsAreSaid()
        {
            var h = Inputs();
            Assert.IsTrue(h.State.Overloaded, "the golden state is overloaded");
            h.OverlayHz = 17.6;
            h.Control = "down";
            var texts = Texts(HudModel.Build(h));
            CollectionAssert.Contains(texts, "CORE OVERLOADED - guidance at 18 Hz");
            CollectionAssert.Contains(texts, "COMMANDS UNAVAILABLE (core control down)");
            h.Control = "up";
            CollectionAssert.DoesNotContain(Texts(HudModel.Build(h)), "COMMANDS UNAVAILABLE (core control down)");
            h.Link = LinkState.Down;
            CollectionAssert.DoesNotContain(Texts(HudModel.Build(h)), "COMMANDS UNAVAILABLE (core control down)");
        }

        [Test]
        public void LinkDownIsAnAlarm()
        {
            var h = Inputs();
            h.Link = LinkState.Down;
            h.Reconnects = 3;
            var line = HudModel.Build(h)[0];
            Assert.AreEqual(HudSeverity.Alarm, line.Severity);
            Assert.AreEqual("LINK DOWN - overlay stale, reconnecting (3)", line.Text);
        }

        [Test]
        public void ShowsRecentVoiceDecisionsOnly()
        {
            var h = Inputs();
            h.Voice = (VoiceMessage)MessageParser.Parse(TestMessages.Minimal("voice",
                "{\"t_end_ns\": 5, \"t_event_ns\": 6, \"text\": \"what time is it\", \"confidence\": 0.4, \"intent\": null, "
                + "\"decision\": \"rejected\", \"reason\": \"not a command\", \"engine\": \"vosk\", \"noise_dbfs\": -50.0}"));
            h.VoiceLocalNs = h.LocalNowNs - 2000000000L;
            CollectionAssert.Contains(Texts(HudModel.Build(h)), "voice: ignored \"what time is it\" (not a command)");
            h.VoiceLocalNs = h.LocalNowNs - 6000000000L;
            foreach (var t in Texts(HudModel.Build(h))) StringAssert.DoesNotStartWith("voice:", t);
        }

        [Test]
        public void VoiceMessageReadsTheCoresVoiceEventBody()
        {
            var v = (VoiceMessage)MessageParser.Parse(TestMessages.Minimal("voice",
                "{\"t_end_ns\": 1790000000000000005, \"t_event_ns\": 1790000000000000006, \"text\": \"freeze\", \"confidence\": 0.93, "
                + "\"intent\": \"freeze\", \"decision\": \"accepted\", \"reason\": \"\", \"engine\": \"pocketsphinx\", \"noise_dbfs\": -48.25}"));
            Assert.AreEqual("accepted", v.Decision);
            Assert.AreEqual("freeze", v.Intent);
            Assert.AreEqual(0.93, v.Confidence.Value);
            Assert.AreEqual(1790000000000000005L, v.TEndNs.Value);
            Assert.AreEqual(1790000000000000006L, v.TEventNs.Value);
            Assert.AreEqual(-48.25, v.NoiseDbfs.Value);
            StringAssert.Contains("'decision' missing", Assert.Throws<ProtocolException>(
                () => MessageParser.Parse(TestMessages.Minimal("voice", "{\"text\": \"freeze\"}"))).Message);
        }
    }
}
