using System;
using System.IO;
using Sonoguide.Protocol;
using Sonoguide.Protocol.Client;
using Sonoguide.Protocol.Control;
using Sonoguide.Protocol.Link;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Pairing;
using Sonoguide.Protocol.Presentation;
using UnityEngine;
using UnityEngine.Events;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// Connects the headset to the sonoguide core: a SUB socket for overlays, state, heartbeat and voice decisions and a DEALER
    /// socket for commands (PROTOCOL.md, "Sockets"), on a background thread with reconnect and back-off, CurveZMQ when a pairing
    /// bundle is set. Decoded messages reach the main thread in <see cref="Update"/>; other components read <see cref="Session"/>.
    /// </summary>
    [DisallowMultipleComponent]
    [DefaultExecutionOrder(-100)]
    [AddComponentMenu("Sonoguide/Sonoguide Client")]
    public sealed class SonoguideClient : MonoBehaviour
    {
        /// <summary>Fired with (command, reply) when a control request is answered or times out.</summary>
        [Serializable]
        public sealed class ReplyEvent : UnityEvent<string, string>
        {
        }

        [Header("Core endpoints (ignored when a pairing bundle is set)")]
        [Tooltip("The core's data socket, e.g. tcp://192.168.1.20:5556 (network.pub_endpoint bound to a LAN address).")]
        [SerializeField] private string dataEndpoint = "tcp://127.0.0.1:5556";

        [Tooltip("The core's control socket (network.control_endpoint).")]
        [SerializeField] private string controlEndpoint = "tcp://127.0.0.1:5557";

        [Tooltip("The core's headset-audio socket (voice.zmq_endpoint); empty: send no audio.")]
        [SerializeField] private string audioEndpoint = "";

        [Header("Security")]
        [Tooltip("Pairing bundle from 'sonoguide pair --name HEADSET' (JSON). A relative path is read from Application.persistentDataPath. Empty: unencrypted (loopback or lab only).")]
        [SerializeField] private string pairingBundlePath = "";

        [Tooltip("Encrypt the audio stream with the bundle's keys too (must match the core's voice socket).")]
        [SerializeField] private bool audioUsesCurve = true;

        [Header("Timing")]
        [Tooltip("Heartbeat period assumed before it is learned (the core's network.heartbeat_hz; 100 ms = 10 Hz).")]
        [Range(10, 200)] [SerializeField] private int heartbeatPeriodMs = 100;

        [Tooltip("An overlay turns stale this long before its valid_until_ns (covers the clock estimate).")]
        [Range(0f, 50f)] [SerializeField] private float stalenessMarginMs = 5f;

        [Tooltip("How long a command waits for its reply.")]
        [Range(100, 10000)] [SerializeField] private int controlTimeoutMs = 2000;

        [Header("Events")]
        [SerializeField] private ReplyEvent onReply = new ReplyEvent();

        private SonoguideSession _session;
        private IMessageTransport _transport;
        private RateLimitedLog _log;
        private string _status = "not started";

        /// <summary>The data endpoint (set before the component is enabled; a pairing bundle overrides it).</summary>
        public string DataEndpoint
        {
            get { return dataEndpoint; }
            set { dataEndpoint = value ?? string.Empty; }
        }

        /// <summary>The control endpoint (set before the component is enabled; a pairing bundle overrides it).</summary>
        public string ControlEndpoint
        {
            get { return controlEndpoint; }
            set { controlEndpoint = value ?? string.Empty; }
        }

        /// <summary>The headset-audio endpoint; empty sends no audio (set before the component is enabled).</summary>
        public string AudioEndpoint
        {
            get { return audioEndpoint; }
            set { audioEndpoint = value ?? string.Empty; }
        }

        /// <summary>The pairing bundle path (set before the component is enabled).</summary>
        public string PairingBundlePath
        {
            get { return pairingBundlePath; }
            set { pairingBundlePath = value ?? string.Empty; }
        }

        /// <summary>The running session, or null when not connected (disabled, or a configuration error).</summary>
        public SonoguideSession Session
        {
            get { return _session; }
        }

        /// <summary>One line saying what the client is doing or why it cannot run.</summary>
        public string Status
        {
            get { return _status; }
        }

        /// <summary>The last control reply, or null.</summary>
        public ControlReply LastReply { get; private set; }

        /// <summary>The command of <see cref="LastReply"/>.</summary>
        public string LastReplyCommand { get; private set; }

        /// <summary><c>Time.unscaledTime</c> when <see cref="LastReply"/> arrived.</summary>
        public float LastReplyTime { get; private set; }

        /// <summary>Raised on the main thread for every message (overlays once per collected frame).</summary>
        public event Action<ProtocolMessage> MessageReceived;

        /// <summary>Raised on the main thread when the link changes state.</summary>
        public event Action<LinkState> LinkChanged;

        /// <summary>Raised on the main thread when a command is answered (or timed out).</summary>
        public event Action<ControlRequest, ControlReply> ReplyReceived;

        private void OnEnable()
        {
            _log = new RateLimitedLog(this);
            ClientOptions options;
            try
            {
                options = BuildOptions();
            }
            catch (Exception exc)
            {
                if (!(exc is ProtocolException) && !(exc is ArgumentException))
                {
                    throw;
                }
                Fail(exc.Message);
                return;
            }
            var factory = TransportRegistry.Factory;
            if (factory == null)
            {
                Fail(TransportRegistry.MissingHelp);
                return;
            }
            _transport = factory();
            _session = new SonoguideSession(_transport, options);
            _session.MessageReceived += OnMessage;
            _session.LinkChanged += OnLink;
            _session.ReplyReceived += OnReply;
            _session.ErrorReported += reason => _log.Warning(reason);
            _session.Noticed += text => Debug.Log("[sonoguide] " + text, this);
            _session.Start();
            _status = "connecting to " + options.DataEndpoint + (options.Keys != null ? " (CurveZMQ)" : " (unencrypted)");
        }

        private void OnDisable()
        {
            if (_session != null)
            {
                _session.Stop();
                _session = null;
            }
            var disposable = _transport as IDisposable;
            if (disposable != null)
            {
                disposable.Dispose();
            }
            _transport = null;
        }

        private void Update()
        {
            if (_session != null)
            {
                _session.Update();
            }
        }

        /// <summary>Send a control command (e.g. <c>freeze</c>, <c>hide all</c>, <c>confirm</c>); usable from UI events.</summary>
        public void SendCommand(string command)
        {
            if (_session == null)
            {
                _log.Warning("command '" + command + "' not sent: " + _status);
                return;
            }
            try
            {
                _session.Send(command);
            }
            catch (ArgumentException exc)
            {
                _log.Warning(exc.Message);
            }
        }

        /// <summary>What to draw now for the newest overlay, or null.</summary>
        public OverlayView Present(PresentationOptions options = null)
        {
            return _session == null ? null : _session.Present(options);
        }

        private ClientOptions BuildOptions()
        {
            var options = new ClientOptions
            {
                DataEndpoint = dataEndpoint.Trim(),
                ControlEndpoint = controlEndpoint.Trim(),
                AudioEndpoint = audioEndpoint.Trim(),
                AudioUsesCurve = audioUsesCurve,
                HeartbeatPeriodMs = heartbeatPeriodMs,
                ControlTimeoutMs = controlTimeoutMs,
                StalenessMarginMs = stalenessMarginMs,
            };
            if (!string.IsNullOrEmpty(pairingBundlePath.Trim()))
            {
                string path = pairingBundlePath.Trim();
                if (!Path.IsPathRooted(path))
                {
                    path = Path.Combine(Application.persistentDataPath, path);
                }
                var bundle = PairingBundle.Load(path);
                options.Keys = bundle.Keys;
                // A bundle written with the core's bind address (tcp://*:5556) cannot be connected to: keep the
                // endpoints set in the Inspector then.
                if (PairingBundle.IsConnectable(bundle.PubEndpoint) && PairingBundle.IsConnectable(bundle.ControlEndpoint))
                {
                    options.DataEndpoint = bundle.PubEndpoint;
                    options.ControlEndpoint = bundle.ControlEndpoint;
                }
            }
            options.Validate();
            return options;
        }

        private void Fail(string reason)
        {
            _status = reason;
            Debug.LogError("[sonoguide] client not started: " + reason, this);
        }

        private void OnMessage(ProtocolMessage message)
        {
            var handler = MessageReceived;
            if (handler != null) handler(message);
        }

        private void OnLink(LinkState state, string detail)
        {
            _status = "link " + state.ToString().ToLowerInvariant() + ": " + detail;
            var handler = LinkChanged;
            if (handler != null) handler(state);
        }

        private void OnReply(ControlRequest request, ControlReply reply)
        {
            LastReply = reply;
            LastReplyCommand = request.Command;
            LastReplyTime = Time.unscaledTime;
            if (!reply.Ok)
            {
                _log.Warning("command '" + request.Command + "' refused: " + reply.Error);
            }
            var handler = ReplyReceived;
            if (handler != null) handler(request, reply);
            onReply.Invoke(request.Command, reply.Ok ? (reply.Status ?? "ok") : reply.Error);
        }
    }
}
