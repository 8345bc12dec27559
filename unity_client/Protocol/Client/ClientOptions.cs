using System;
using Sonoguide.Protocol.Pairing;

namespace Sonoguide.Protocol.Client
{
    /// <summary>Settings of the client connection (defaults follow PROTOCOL.md, "Sockets").</summary>
    public sealed class ClientOptions
    {
        /// <summary>The core's data socket (SUB connects here).</summary>
        public string DataEndpoint = "tcp://127.0.0.1:5556";

        /// <summary>The core's control socket (DEALER connects here).</summary>
        public string ControlEndpoint = "tcp://127.0.0.1:5557";

        /// <summary>The core's headset-audio socket (PUSH connects here); empty to send no audio.</summary>
        public string AudioEndpoint = "";

        /// <summary>CurveZMQ keys from the pairing bundle, or null for an unencrypted link (loopback and lab only).</summary>
        public CurveKeys Keys;

        /// <summary>Use the keys on the audio socket too (match the core's voice settings).</summary>
        public bool AudioUsesCurve = true;

        /// <summary>Heartbeat period assumed before it is learned (ms); the core's default is 10 Hz.</summary>
        public int HeartbeatPeriodMs = 100;

        /// <summary>Time allowed after (re)connecting for the first heartbeat before the attempt counts as failed (ms).</summary>
        public int ConnectGraceMs = 1500;

        /// <summary>First reconnect delay (ms).</summary>
        public int ReconnectMinMs = 250;

        /// <summary>Longest reconnect delay (ms).</summary>
        public int ReconnectMaxMs = 5000;

        /// <summary>How long a control request waits for its reply (ms).</summary>
        public int ControlTimeoutMs = 2000;

        /// <summary>Events kept for the main thread before the oldest are dropped.</summary>
        public int MaxQueuedEvents = 512;

        /// <summary>Audio chunks kept before the oldest are dropped.</summary>
        public int MaxQueuedAudio = 50;

        /// <summary>An overlay turns stale this long before its <c>valid_until_ns</c> (ms).</summary>
        public double StalenessMarginMs = 5.0;

        /// <summary>Check the settings.</summary>
        /// <exception cref="ArgumentException">a value out of range; the message names it.</exception>
        public void Validate()
        {
            CheckEndpoint(DataEndpoint, "DataEndpoint", false);
            CheckEndpoint(ControlEndpoint, "ControlEndpoint", false);
            CheckEndpoint(AudioEndpoint, "AudioEndpoint", true);
            if (DataEndpoint == ControlEndpoint)
            {
                throw new ArgumentException("ControlEndpoint must differ from DataEndpoint");
            }
            if (HeartbeatPeriodMs < 10 || HeartbeatPeriodMs > 200)
            {
                throw new ArgumentException("HeartbeatPeriodMs must be 10..200 (the core sends 5..100 Hz)");
            }
            if (ReconnectMinMs < 1 || ReconnectMaxMs < ReconnectMinMs)
            {
                throw new ArgumentException("ReconnectMinMs must be >= 1 and <= ReconnectMaxMs");
            }
            if (ConnectGraceMs < 3 * HeartbeatPeriodMs)
            {
                throw new ArgumentException("ConnectGraceMs must be at least 3 heartbeat periods");
            }
            if (ControlTimeoutMs < 10 || MaxQueuedEvents < 16 || MaxQueuedAudio < 1 || StalenessMarginMs < 0)
            {
                throw new ArgumentException("ControlTimeoutMs >= 10, MaxQueuedEvents >= 16, MaxQueuedAudio >= 1 and StalenessMarginMs >= 0 are required");
            }
        }

        private static void CheckEndpoint(string ep, string name, bool optional)
        {
            if (optional && string.IsNullOrEmpty(ep))
            {
                return;
            }
            if (ep == null || !(ep.StartsWith("tcp://", StringComparison.Ordinal) || ep.StartsWith("ipc://", StringComparison.Ordinal)
                                || ep.StartsWith("inproc://", StringComparison.Ordinal)) || ep.EndsWith("://", StringComparison.Ordinal))
            {
                throw new ArgumentException(name + " '" + ep + "' is not a ZeroMQ endpoint like tcp://192.168.1.20:5556");
            }
        }
    }
}
