using System;
using System.Collections.Generic;
using NetMQ;
using NetMQ.Sockets;
using Sonoguide.Protocol.Client;
using Sonoguide.Protocol.Pairing;
using UnityEngine;

namespace Sonoguide.Runtime.Transport
{
    /// <summary>
    /// <see cref="IMessageTransport"/> over NetMQ (the managed ZeroMQ port): a SUB socket for the data stream, a DEALER socket for
    /// control requests and a PUSH socket for headset audio (PROTOCOL.md, "Sockets"), with CurveZMQ client keys when paired
    /// (PROTOCOL.md, "Security"; ZeroMQ RFC 26). Compiled only with the scripting define <c>SONOGUIDE_NETMQ</c>, so the package
    /// builds before NetMQ is installed.
    /// </summary>
    public sealed class NetMqTransport : IMessageTransport, IDisposable
    {
        private static bool _forced;

        /// <summary>Register this transport with <see cref="TransportRegistry"/> when the player starts.</summary>
        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
        private static void Register()
        {
            TransportRegistry.Factory = () => new NetMqTransport();
        }

        /// <summary>Create the transport.</summary>
        public NetMqTransport()
        {
            if (!_forced)
            {
                // Unity's Mono lacks the completion ports NetMQ's AsyncIO prefers; use the managed socket implementation.
                AsyncIO.ForceDotNet.Force();
                _forced = true;
            }
        }

        /// <inheritdoc />
        public ISubscriber OpenSubscriber(string endpoint, IList<string> topics, CurveKeys keys)
        {
            var socket = new SubscriberSocket();
            try
            {
                Configure(socket, keys);
                socket.Options.ReceiveHighWatermark = 100;
                socket.Connect(endpoint);
                foreach (var topic in topics)
                {
                    socket.Subscribe(topic);
                }
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            return new Subscriber(socket);
        }

        /// <inheritdoc />
        public IRequester OpenRequester(string endpoint, CurveKeys keys)
        {
            var socket = new DealerSocket();
            try
            {
                Configure(socket, keys);
                socket.Connect(endpoint);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            return new Requester(socket);
        }

        /// <inheritdoc />
        public ISender OpenSender(string endpoint, CurveKeys keys)
        {
            var socket = new PushSocket();
            try
            {
                Configure(socket, keys);
                socket.Options.SendHighWatermark = 50;
                socket.Connect(endpoint);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            return new Sender(socket);
        }

        /// <summary>Release NetMQ's threads (without this the Editor can hang on leaving Play mode).</summary>
        public void Dispose()
        {
            NetMQConfig.Cleanup(false);
        }

        private static void Configure(NetMQSocket socket, CurveKeys keys)
        {
            socket.Options.Linger = TimeSpan.Zero;
            if (keys != null)
            {
                socket.Options.CurveServerKey = keys.ServerPublic;
                socket.Options.CurveCertificate = new NetMQCertificate(keys.ClientSecret, keys.ClientPublic);
            }
        }

        private sealed class Subscriber : ISubscriber
        {
            private readonly SubscriberSocket _socket;

            internal Subscriber(SubscriberSocket socket)
            {
                _socket = socket;
            }

            public bool TryReceive(TimeSpan timeout, out List<byte[]> frames)
            {
                frames = null;
                return _socket.TryReceiveMultipartBytes(timeout, ref frames);
            }

            public void Dispose()
            {
                _socket.Dispose();
            }
        }

        private sealed class Requester : IRequester
        {
            private readonly DealerSocket _socket;

            internal Requester(DealerSocket socket)
            {
                _socket = socket;
            }

            public bool TrySend(byte[] frame)
            {
                return _socket.TrySendFrame(TimeSpan.Zero, frame);
            }

            public bool TryReceive(TimeSpan timeout, out List<byte[]> frames)
            {
                frames = null;
                return _socket.TryReceiveMultipartBytes(timeout, ref frames);
            }

            public void Dispose()
            {
                _socket.Dispose();
            }
        }

        private sealed class Sender : ISender
        {
            private readonly PushSocket _socket;

            internal Sender(PushSocket socket)
            {
                _socket = socket;
            }

            public bool TrySend(IList<byte[]> frames)
            {
                return _socket.TrySendMultipartBytes(TimeSpan.Zero, frames);
            }

            public void Dispose()
            {
                _socket.Dispose();
            }
        }
    }
}
