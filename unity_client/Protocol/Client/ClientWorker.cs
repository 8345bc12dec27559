using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using Sonoguide.Protocol.Control;
using Sonoguide.Protocol.Link;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Pairing;

namespace Sonoguide.Protocol.Client
{
    /// <summary>
    /// The client's background thread: owns the sockets (through <see cref="IMessageTransport"/>), decodes and checks every
    /// message, tracks sequence gaps, heartbeats and the host clock, sends control requests and audio, and reconnects with
    /// back-off when the heartbeat stops (ZeroMQ Guide ch. 4, "Heartbeating"; PROTOCOL.md, topic <c>heartbeat</c>).
    /// </summary>
    /// <remarks>
    /// Hand-off to the main thread: overlays through a latest-wins slot (<see cref="TakeLatestOverlay"/>: a slow frame never
    /// builds a backlog of old overlays), everything else through a bounded queue (<see cref="TryDequeue"/>). A malformed
    /// message is counted and reported, never fatal; an exception from a socket closes the sockets and reconnects.
    /// </remarks>
    public sealed class ClientWorker : IDisposable
    {
        private const int MaxMessagesPerPass = 64;
        private static readonly TimeSpan ReceiveSlice = TimeSpan.FromMilliseconds(10);

        private readonly IMessageTransport _transport;
        private readonly ClientOptions _options;
        private readonly Func<long> _now;
        private readonly ConcurrentQueue<ClientEvent> _events = new ConcurrentQueue<ClientEvent>();
        private readonly ConcurrentQueue<ControlRequest> _outgoing = new ConcurrentQueue<ControlRequest>();
        private readonly ConcurrentQueue<IList<byte[]>> _audio = new ConcurrentQueue<IList<byte[]>>();
        private readonly ControlRequestTracker _tracker = new ControlRequestTracker();
        private readonly SequenceBook _sequences = new SequenceBook();
        private readonly ManualResetEvent _stop = new ManualResetEvent(false);
        private readonly ReconnectBackoff _backoff;
        private Thread _thread;
        private OverlayMessage _latestOverlay;

        private ISubscriber _sub;
        private IRequester _control;
        private ISender _audioSocket;
        private long _connectedAtNs;
        private LinkState _reportedState = LinkState.Waiting;

        private long _received;
        private long _overlays;
        private long _decodeErrors;
        private long _clockOriginNs;
        private long _coreClockSteps;
        private long _lost;
        private long _reconnects;
        private long _droppedEvents;
        private long _droppedAudio;
        private string _lastError;

        /// <summary>Create the worker; call <see cref="Start"/> to run it.</summary>
        /// <param name="transport">the ZeroMQ implementation.</param>
        /// <param name="options">endpoints, keys and timings (validated here).</param>
        /// <param name="localClockNs">the local monotonic clock; <see cref="MonotonicClock.NowNs"/> by default.</param>
        public ClientWorker(IMessageTransport transport, ClientOptions options, Func<long> localClockNs = null)
        {
            if (transport == null) throw new ArgumentNullException("transport");
            if (options == null) throw new ArgumentNullException("options");
            options.Validate();
            _transport = transport;
            _options = options;
            _now = localClockNs ?? MonotonicClock.NowNs;
            _backoff = new ReconnectBackoff(options.ReconnectMinMs, options.ReconnectMaxMs);
            Link = new LinkMonitor(options.HeartbeatPeriodMs * 1000000L);
            HostClock = new HostClock();
        }

        /// <summary>Heartbeat supervision (thread-safe).</summary>
        public LinkMonitor Link { get; }

        /// <summary>Local-to-host clock mapping (thread-safe).</summary>
        public HostClock HostClock { get; }

        /// <summary>The options in use.</summary>
        public ClientOptions Options
        {
            get { return _options; }
        }

        /// <summary>Messages received (decoded or not).</summary>
        public long Received { get { return Interlocked.Read(ref _received); } }

        /// <summary>Overlays decoded.</summary>
        public long Overlays { get { return Interlocked.Read(ref _overlays); } }

        /// <summary>Messages refused as malformed or of an unknown schema.</summary>
        public long DecodeErrors { get { return Interlocked.Read(ref _decodeErrors); } }

        /// <summary>Messages known lost from sequence gaps.</summary>
        public long Lost { get { return Interlocked.Read(ref _lost); } }

        /// <summary>Times the sockets were closed and reopened.</summary>
        public long Reconnects { get { return Interlocked.Read(ref _reconnects); } }

        /// <summary>Events dropped because the main thread did not collect them.</summary>
        public long DroppedEvents { get { return Interlocked.Read(ref _droppedEvents); } }

        /// <summary>Audio chunks dropped (queue full or socket busy).</summary>
        public long DroppedAudio { get { return Interlocked.Read(ref _droppedAudio); } }

        /// <summary>The last error reported, or null.</summary>
        public string LastError { get { return Volatile.Read(ref _lastError); } }

        /// <summary>True while the background thread runs.</summary>
        public bool IsRunning
        {
            get { var t = _thread; return t != null && t.IsAlive; }
        }

        /// <summary>Start the background thread.</summary>
        public void Start()
        {
            if (_thread != null)
            {
                throw new InvalidOperationException("the client worker is already started");
            }
            _stop.Reset();
            _thread = new Thread(Run) { IsBackground = true, Name = "sonoguide-client" };
            _thread.Start();
        }

        /// <summary>Stop the thread and close the sockets; waits up to <paramref name="timeoutMs"/>.</summary>
        public void Stop(int timeoutMs = 2000)
        {
            var t = _thread;
            if (t == null)
            {
                return;
            }
            _stop.Set();
            t.Join(timeoutMs);
            _thread = null;
        }

        /// <inheritdoc />
        public void Dispose()
        {
            Stop();
        }

        /// <summary>The newest overlay since the last call, or null (latest wins; older ones are skipped).</summary>
        public OverlayMessage TakeLatestOverlay()
        {
            return Interlocked.Exchange(ref _latestOverlay, null);
        }

        /// <summary>The next event for the main thread, if any.</summary>
        public bool TryDequeue(out ClientEvent evt)
        {
            return _events.TryDequeue(out evt);
        }

        /// <summary>Queue a control command; its reply (or timeout) arrives as a <see cref="ReplyEvent"/>.</summary>
        /// <exception cref="ArgumentException">an empty command.</exception>
        public ControlRequest SendCommand(string command)
        {
            var request = _tracker.Create(command, _now() + _options.ControlTimeoutMs * 1000000L);
            _outgoing.Enqueue(request);
            return request;
        }

        /// <summary>Queue one encoded audio message (see <see cref="Audio.AudioStreamEncoder"/>); false when audio is off.</summary>
        public bool SendAudio(IList<byte[]> frames)
        {
            if (string.IsNullOrEmpty(_options.AudioEndpoint))
            {
                return false;
            }
            _audio.Enqueue(frames);
            IList<byte[]> dropped;
            while (_audio.Count > _options.MaxQueuedAudio && _audio.TryDequeue(out dropped))
            {
                Interlocked.Increment(ref _droppedAudio);
            }
            return true;
        }

        private void Run()
        {
            while (!_stop.WaitOne(0))
            {
                if (_sub == null)
                {
                    if (!Connect())
                    {
                        Pause(_backoff.NextDelayMs());
                        continue;
                    }
                }
                try
                {
                    PumpData();
                    PumpControl();
                    PumpAudio();
                    ExpireRequests();
                    if (CheckLink())
                    {
                        Disconnect("no heartbeat from the core");
                        Interlocked.Increment(ref _reconnects);
                        Pause(_backoff.NextDelayMs());
                    }
                }
                catch (Exception exc)
                {
                    Report("connection failed: " + exc.Message);
                    Disconnect("socket error");
                    Interlocked.Increment(ref _reconnects);
                    Pause(_backoff.NextDelayMs());
                }
            }
            Disconnect("client stopped");
        }

        private bool Connect()
        {
            try
            {
                _sub = _transport.OpenSubscriber(_options.DataEndpoint, Topics.DataTopics, _options.Keys);
                _control = _transport.OpenRequester(_options.ControlEndpoint, _options.Keys);
                if (!string.IsNullOrEmpty(_options.AudioEndpoint))
                {
                    _audioSocket = _transport.OpenSender(_options.AudioEndpoint, _options.AudioUsesCurve ? _options.Keys : null);
                }
            }
            catch (Exception exc)
            {
                Report("cannot open the connection to " + _options.DataEndpoint + ": " + exc.Message);
                Disconnect("open failed");
                return false;
            }
            _connectedAtNs = _now();
            Link.Reset();
            _sequences.Reset();
            SetState(LinkState.Waiting, "connecting to " + _options.DataEndpoint);
            return true;
        }

        private void Disconnect(string why)
        {
            HostClock.MarkReconnected(); // the next message (maybe from a restarted core) starts a new clock window
            DisposeQuietly(_sub);
            DisposeQuietly(_control);
            DisposeQuietly(_audioSocket);
            _sub = null;
            _control = null;
            _audioSocket = null;
            foreach (var request in _tracker.Clear())
            {
                Enqueue(new ReplyEvent { LocalTimeNs = _now(), Request = request, Reply = ControlReply.Failed(request.Id, "connection to the core lost before the reply (" + why + ")") });
            }
            if (_reportedState == LinkState.Up)
            {
                SetState(LinkState.Down, why);
            }
        }

        private static void DisposeQuietly(IDisposable d)
        {
            if (d == null)
            {
                return;
            }
            try
            {
                d.Dispose();
            }
            catch (Exception)
            {
                // closing a broken socket must not stop the reconnect loop
            }
        }

        private void PumpData()
        {
            List<byte[]> frames;
            TimeSpan wait = ReceiveSlice;
            for (int i = 0; i < MaxMessagesPerPass && _sub.TryReceive(wait, out frames); i++)
            {
                wait = TimeSpan.Zero;
                Handle(frames, _now());
            }
        }

        /// <summary>Decode and route one message (called on the worker thread).</summary>
        private void Handle(List<byte[]> frames, long localNs)
        {
            Interlocked.Increment(ref _received);
            ProtocolMessage msg;
            try
            {
                msg = MessageParser.Parse(frames);
            }
            catch (ProtocolException exc)
            {
                long n = Interlocked.Increment(ref _decodeErrors);
                if (n <= 5 || n % 100 == 0)
                {
                    Report("message refused (" + n + " so far): " + exc.Message);
                }
                return;
            }
            var heartbeat = msg as HeartbeatMessage;
            if (heartbeat != null)
            {
                NoteCoreClock(heartbeat);
            }
            HostClock.Observe(localNs, msg.TPublishNs);
            var seq = _sequences.Observe(msg.Topic, msg.Seq);
            if (seq.Event == SequenceEvent.Gap)
            {
                Interlocked.Add(ref _lost, seq.Missed);
            }
            if (heartbeat != null)
            {
                Link.OnHeartbeat(localNs, heartbeat.TPublishNs, heartbeat.Seq);
            }
            var overlay = msg as OverlayMessage;
            if (overlay != null)
            {
                Interlocked.Increment(ref _overlays);
                Interlocked.Exchange(ref _latestOverlay, overlay);
                return;
            }
            Enqueue(new MessageEvent { LocalTimeNs = localNs, Message = msg, Sequence = seq });
        }

        /// <summary>
        /// A new core clock mapping (a core started) makes the host clock estimate start afresh from this message; a new
        /// wall-clock step of the core is reported (the core's stamps do not step, so the estimate stays).
        /// </summary>
        private void NoteCoreClock(HeartbeatMessage heartbeat)
        {
            if (heartbeat.ClockOriginNs != 0 && heartbeat.ClockOriginNs != _clockOriginNs)
            {
                if (_clockOriginNs != 0)
                {
                    HostClock.MarkReconnected();
                    Notice("the core's clock changed (a core started): clock estimate restarted");
                }
                _clockOriginNs = heartbeat.ClockOriginNs;
            }
            if (heartbeat.ClockSteps > _coreClockSteps)
            {
                Notice("the core host's wall clock stepped (" + (heartbeat.ClockWallStepNs / 1e6).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)
                       + " ms from its stamps); overlay times are unaffected");
            }
            _coreClockSteps = heartbeat.ClockSteps;
        }

        private void PumpControl()
        {
            ControlRequest request;
            while (_outgoing.TryDequeue(out request))
            {
                if (!_tracker.IsPending(request.Id))
                {
                    continue; // timed out while the link was down: already answered with a timeout
                }
                if (!_control.TrySend(request.Frame))
                {
                    Report("control request '" + request.Command + "' could not be sent now");
                }
            }
            List<byte[]> frames;
            while (_control.TryReceive(TimeSpan.Zero, out frames))
            {
                if (frames.Count == 0)
                {
                    continue;
                }
                ControlReply reply;
                try
                {
                    reply = ControlReply.Parse(frames[frames.Count - 1]);
                }
                catch (ProtocolException exc)
                {
                    Report("control reply refused: " + exc.Message);
                    continue;
                }
                var matched = _tracker.Resolve(reply);
                if (matched == null)
                {
                    Report("control reply for unknown or expired request id '" + reply.Id + "': " + (reply.Error ?? reply.Status));
                    continue;
                }
                Enqueue(new ReplyEvent { LocalTimeNs = _now(), Request = matched, Reply = reply });
            }
        }

        private void PumpAudio()
        {
            IList<byte[]> frames;
            while (_audio.TryDequeue(out frames))
            {
                if (_audioSocket == null || !_audioSocket.TrySend(frames))
                {
                    Interlocked.Increment(ref _droppedAudio);
                }
            }
        }

        private void ExpireRequests()
        {
            foreach (var request in _tracker.Expire(_now()))
            {
                Enqueue(new ReplyEvent { LocalTimeNs = _now(), Request = request, Reply = ControlReply.Timeout(request.Id, _options.ControlTimeoutMs / 1000.0) });
            }
        }

        /// <summary>Report link changes; true when the connection should be dropped and retried.</summary>
        private bool CheckLink()
        {
            long now = _now();
            var state = Link.StateAt(now);
            if (state == LinkState.Up)
            {
                _backoff.Reset();
                SetState(LinkState.Up, "heartbeat received");
                return false;
            }
            if (state == LinkState.Down)
            {
                SetState(LinkState.Down, "no heartbeat for " + (LinkMonitor.MissedPeriods * Link.PeriodNs / 1e6).ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + " ms");
                return true;
            }
            return now - _connectedAtNs > _options.ConnectGraceMs * 1000000L;
        }

        private void SetState(LinkState state, string detail)
        {
            if (state == _reportedState)
            {
                return;
            }
            _reportedState = state;
            Enqueue(new LinkEvent { LocalTimeNs = _now(), State = state, Detail = detail });
        }

        private void Pause(int ms)
        {
            long until = _now() + ms * 1000000L;
            while (!_stop.WaitOne(0))
            {
                ExpireRequests();
                long left = (until - _now()) / 1000000L;
                if (left <= 0)
                {
                    return;
                }
                _stop.WaitOne((int)Math.Min(left, 50));
            }
        }

        private void Report(string reason)
        {
            Volatile.Write(ref _lastError, reason);
            Enqueue(new ErrorEvent { LocalTimeNs = _now(), Reason = reason });
        }

        private void Notice(string text)
        {
            Enqueue(new NoticeEvent { LocalTimeNs = _now(), Text = text });
        }

        private void Enqueue(ClientEvent evt)
        {
            _events.Enqueue(evt);
            ClientEvent dropped;
            while (_events.Count > _options.MaxQueuedEvents && _events.TryDequeue(out dropped))
            {
                Interlocked.Increment(ref _droppedEvents);
            }
        }
    }
}
