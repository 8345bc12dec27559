using System;
using System.Collections.Generic;
using Sonoguide.Protocol.Control;
using Sonoguide.Protocol.Link;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Presentation;

namespace Sonoguide.Protocol.Client
{
    /// <summary>
    /// The main-thread side of the client: collects what the <see cref="ClientWorker"/> received, keeps the latest overlay,
    /// state, heartbeat and voice decision, answers "is this overlay current?" and builds what to draw. Engine-free; the
    /// Unity <c>SonoguideClient</c> component calls <see cref="Update"/> once per frame.
    /// </summary>
    public sealed class SonoguideSession : IDisposable
    {
        private readonly ClientWorker _worker;
        private readonly Func<long> _now;

        /// <summary>Create a session over <paramref name="transport"/>; call <see cref="Start"/>.</summary>
        public SonoguideSession(IMessageTransport transport, ClientOptions options, Func<long> localClockNs = null)
        {
            _now = localClockNs ?? MonotonicClock.NowNs;
            _worker = new ClientWorker(transport, options, _now);
        }

        /// <summary>The background worker (counters, link monitor, host clock).</summary>
        public ClientWorker Worker
        {
            get { return _worker; }
        }

        /// <summary>The newest overlay received, or null.</summary>
        public OverlayMessage Overlay { get; private set; }

        /// <summary>The newest guidance state, or null.</summary>
        public StateMessage State { get; private set; }

        /// <summary>The newest heartbeat, or null.</summary>
        public HeartbeatMessage Heartbeat { get; private set; }

        /// <summary>The newest voice decision, or null.</summary>
        public VoiceMessage LastVoice { get; private set; }

        /// <summary>Local time <see cref="LastVoice"/> arrived (ns).</summary>
        public long LastVoiceLocalNs { get; private set; }

        /// <summary>The link state as last collected.</summary>
        public LinkState LinkState { get; private set; }

        /// <summary>
        /// A heartbeat announced a state version newer than the last state received: a state message was lost; the next
        /// one arrives within <c>1/state_hz</c> (PROTOCOL.md, topic <c>heartbeat</c>).
        /// </summary>
        public bool StateOutdated
        {
            get { return Heartbeat != null && (State == null || Heartbeat.StateVersion > State.Version); }
        }

        /// <summary>A message arrived (state, heartbeat, voice, and overlays as they are collected).</summary>
        public event Action<ProtocolMessage> MessageReceived;

        /// <summary>A control request was answered (or timed out).</summary>
        public event Action<ControlRequest, ControlReply> ReplyReceived;

        /// <summary>The link changed state.</summary>
        public event Action<LinkState, string> LinkChanged;

        /// <summary>Something went wrong (a refused message, a socket error); the client keeps running.</summary>
        public event Action<string> ErrorReported;

        /// <summary>Raised on the main thread for something worth a log line that is not a fault (the core's clock).</summary>
        public event Action<string> Noticed;

        /// <summary>Start the background thread.</summary>
        public void Start()
        {
            _worker.Start();
        }

        /// <summary>Stop it and close the sockets.</summary>
        public void Stop()
        {
            _worker.Stop();
        }

        /// <inheritdoc />
        public void Dispose()
        {
            Stop();
        }

        /// <summary>Local monotonic now (ns).</summary>
        public long LocalNowNs()
        {
            return _now();
        }

        /// <summary>Collect everything received since the last call and raise the events (call on the main thread).</summary>
        public void Update()
        {
            var overlay = _worker.TakeLatestOverlay();
            if (overlay != null)
            {
                Overlay = overlay;
                Raise(MessageReceived, overlay);
            }
            ClientEvent evt;
            int budget = 1000;
            while (budget-- > 0 && _worker.TryDequeue(out evt))
            {
                var m = evt as MessageEvent;
                if (m != null)
                {
                    Absorb(m);
                    Raise(MessageReceived, m.Message);
                    continue;
                }
                var r = evt as ReplyEvent;
                if (r != null)
                {
                    var state = SafeState(r.Reply);
                    if (state != null && (State == null || state.Version >= State.Version))
                    {
                        State = state;
                    }
                    var handler = ReplyReceived;
                    if (handler != null) handler(r.Request, r.Reply);
                    continue;
                }
                var l = evt as LinkEvent;
                if (l != null)
                {
                    LinkState = l.State;
                    var handler = LinkChanged;
                    if (handler != null) handler(l.State, l.Detail);
                    continue;
                }
                var e = evt as ErrorEvent;
                if (e != null)
                {
                    var handler = ErrorReported;
                    if (handler != null) handler(e.Reason);
                    continue;
                }
                var notice = evt as NoticeEvent;
                if (notice != null)
                {
                    var handler = Noticed;
                    if (handler != null) handler(notice.Text);
                }
            }
            LinkState = _worker.Link.StateAt(_now());
        }

        /// <summary>Send a control command (see <see cref="Commands"/>); the answer comes through <see cref="ReplyReceived"/>.</summary>
        public ControlRequest Send(string command)
        {
            return _worker.SendCommand(command);
        }

        /// <summary>True when the heartbeat says the link is up now.</summary>
        public bool LinkUp
        {
            get { return _worker.Link.IsUp(_now()); }
        }

        /// <summary>True once a message has set the host clock.</summary>
        public bool HostClockKnown
        {
            get { return _worker.HostClock.HasEstimate; }
        }

        /// <summary>The estimate of the core's clock (for placing overlays at their capture time).</summary>
        public HostClock HostClock
        {
            get { return _worker.HostClock; }
        }

        /// <summary>Now on the core's clock (ns); only meaningful when <see cref="HostClockKnown"/>.</summary>
        public long HostNowNs()
        {
            return HostClockKnown ? _worker.HostClock.ToHost(_now()) : 0;
        }

        /// <summary>Whether the newest overlay may be shown as current now (false without an overlay).</summary>
        public FreshnessVerdict Freshness()
        {
            if (Overlay == null)
            {
                return new FreshnessVerdict(Presentation.Freshness.Stale, StaleReason.NoClock, 0);
            }
            long margin = (long)(_worker.Options.StalenessMarginMs * 1e6);
            return OverlayFreshness.Evaluate(Overlay, HostNowNs(), LinkUp, HostClockKnown, margin);
        }

        /// <summary>What to draw for the newest overlay now, or null when none has arrived.</summary>
        public OverlayView Present(PresentationOptions options = null)
        {
            return Overlay == null ? null : OverlayPresenter.Present(Overlay, Freshness(), HostNowNs(), options);
        }

        /// <summary>The status HUD's lines now.</summary>
        /// <param name="headsetTracked">the headset tracks its own pose (false: overlays are hidden).</param>
        /// <param name="overlayNotice">why no overlay is shown, e.g. <see cref="OverlayView.RemovedReason"/>.</param>
        public List<HudLine> Hud(bool headsetTracked = true, string overlayNotice = "")
        {
            return HudModel.Build(new HudInputs
            {
                HeadsetTracked = headsetTracked,
                OverlayNotice = overlayNotice ?? "",
                Link = _worker.Link.StateAt(_now()),
                Endpoint = _worker.Options.DataEndpoint,
                Reconnects = _worker.Reconnects,
                State = State,
                StateOutdated = StateOutdated,
                Voice = LastVoice,
                VoiceLocalNs = LastVoiceLocalNs,
                LocalNowNs = _now(),
                HostNowNs = HostNowNs(),
                HostClockKnown = HostClockKnown,
                Control = Heartbeat == null ? null : Heartbeat.Control,
                OverlayHz = Heartbeat == null ? -1 : Heartbeat.OverlayHz,
            });
        }

        private void Absorb(MessageEvent m)
        {
            var state = m.Message as StateMessage;
            if (state != null)
            {
                // After a core restart versions start again; a Restart in the sequence accepts the lower version.
                if (State == null || state.Version >= State.Version || m.Sequence.Event == SequenceEvent.Restart || m.Sequence.Event == SequenceEvent.First)
                {
                    State = state;
                }
                return;
            }
            var hb = m.Message as HeartbeatMessage;
            if (hb != null)
            {
                Heartbeat = hb;
                return;
            }
            var voice = m.Message as VoiceMessage;
            if (voice != null)
            {
                LastVoice = voice;
                LastVoiceLocalNs = m.LocalTimeNs;
            }
        }

        private StateMessage SafeState(ControlReply reply)
        {
            try
            {
                return reply.ParseState();
            }
            catch (ProtocolException exc)
            {
                var handler = ErrorReported;
                if (handler != null) handler("get_state reply refused: " + exc.Message);
                return null;
            }
        }

        private static void Raise(Action<ProtocolMessage> handler, ProtocolMessage m)
        {
            if (handler != null) handler(m);
        }
    }
}
