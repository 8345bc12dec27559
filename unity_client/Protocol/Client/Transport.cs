using System;
using System.Collections.Generic;
using Sonoguide.Protocol.Pairing;

namespace Sonoguide.Protocol.Client
{
    /// <summary>
    /// The few ZeroMQ operations the client needs, so the protocol layer stays free of any particular ZeroMQ library.
    /// The Unity package implements it with NetMQ (<c>Runtime/NetMQ</c>); the tests here implement it with libzmq.
    /// Every method is called from the client's one background thread only (ZeroMQ sockets are not thread-safe).
    /// </summary>
    public interface IMessageTransport
    {
        /// <summary>A SUB socket connected to <paramref name="endpoint"/> and subscribed to each topic prefix.</summary>
        /// <param name="keys">CurveZMQ keys, or null for a plain connection.</param>
        ISubscriber OpenSubscriber(string endpoint, IList<string> topics, CurveKeys keys);

        /// <summary>A DEALER socket connected to the control endpoint (requests may be pipelined; replies matched by id).</summary>
        IRequester OpenRequester(string endpoint, CurveKeys keys);

        /// <summary>A PUSH socket connected to the headset-audio endpoint.</summary>
        ISender OpenSender(string endpoint, CurveKeys keys);
    }

    /// <summary>The receiving side of the data stream.</summary>
    public interface ISubscriber : IDisposable
    {
        /// <summary>Receive one multipart message, waiting at most <paramref name="timeout"/>.</summary>
        bool TryReceive(TimeSpan timeout, out List<byte[]> frames);
    }

    /// <summary>The control connection.</summary>
    public interface IRequester : IDisposable
    {
        /// <summary>Send one single-frame request without blocking; false when it cannot be queued now.</summary>
        bool TrySend(byte[] frame);

        /// <summary>Receive one reply (all its frames), waiting at most <paramref name="timeout"/>.</summary>
        bool TryReceive(TimeSpan timeout, out List<byte[]> frames);
    }

    /// <summary>The audio stream to the core.</summary>
    public interface ISender : IDisposable
    {
        /// <summary>Send one multipart message without blocking; false when it cannot be queued now (then it is dropped).</summary>
        bool TrySend(IList<byte[]> frames);
    }
}
