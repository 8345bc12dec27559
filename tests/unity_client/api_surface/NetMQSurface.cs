// Declarations of the NetMQ 4.0.1.x and AsyncIO members used by unity_client/Runtime/NetMQ.
// Type-check only: every body throws. See README.md.
#pragma warning disable 1591
using System;
using System.Collections.Generic;

namespace AsyncIO
{
    public static class ForceDotNet
    {
        public static void Force() { throw new NotImplementedException(); }
    }
}

namespace NetMQ
{
    public interface IReceivingSocket { }
    public interface IOutgoingSocket { }

    public class NetMQCertificate
    {
        public NetMQCertificate(byte[] secretKey, byte[] publicKey) { throw new NotImplementedException(); }
    }

    public class SocketOptions
    {
        public TimeSpan Linger { get { throw new NotImplementedException(); } set { } }
        public int ReceiveHighWatermark { get { throw new NotImplementedException(); } set { } }
        public int SendHighWatermark { get { throw new NotImplementedException(); } set { } }
        public byte[] CurveServerKey { get { throw new NotImplementedException(); } set { } }
        public NetMQCertificate CurveCertificate { set { } }
    }

    public abstract class NetMQSocket : IDisposable
    {
        public SocketOptions Options { get { throw new NotImplementedException(); } }
        public void Connect(string address) { throw new NotImplementedException(); }
        public void Dispose() { throw new NotImplementedException(); }
    }

    public static class NetMQConfig
    {
        public static void Cleanup(bool block = true) { throw new NotImplementedException(); }
    }

    public static class ReceivingSocketExtensions
    {
        public static bool TryReceiveMultipartBytes(this IReceivingSocket socket, TimeSpan timeout, ref List<byte[]> frames, int expectedFrameCount = 4) { throw new NotImplementedException(); }
    }

    public static class OutgoingSocketExtensions
    {
        public static bool TrySendFrame(this IOutgoingSocket socket, TimeSpan timeout, byte[] data, bool more = false) { throw new NotImplementedException(); }
        public static bool TrySendMultipartBytes(this IOutgoingSocket socket, TimeSpan timeout, IEnumerable<byte[]> frames) { throw new NotImplementedException(); }
        public static bool TrySendMultipartBytes(this IOutgoingSocket socket, TimeSpan timeout, params byte[][] frames) { throw new NotImplementedException(); }
    }
}

namespace NetMQ.Sockets
{
    public class SubscriberSocket : NetMQSocket, IReceivingSocket
    {
        public virtual void Subscribe(string topic) { throw new NotImplementedException(); }
    }

    public class DealerSocket : NetMQSocket, IReceivingSocket, IOutgoingSocket { }

    public class PushSocket : NetMQSocket, IOutgoingSocket { }
}
