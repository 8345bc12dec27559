// A test-only IMessageTransport over libzmq (P/Invoke), so the package's transport-free client
// (unity_client/Protocol/Client) runs against the real Python core over real ZeroMQ sockets here,
// where NetMQ (the Unity package's transport) is not available. The library path is mapped by a
// Mono dllmap written next to the executable (libzmq from pyzmq's wheel or Debian's libzmq5).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using Sonoguide.Protocol.Client;
using Sonoguide.Protocol.Pairing;

internal static class Zmq
{
    public const int SUB = 2, DEALER = 5, PUSH = 8;
    public const int SUBSCRIBE = 6, LINGER = 17, SNDHWM = 23, RCVHWM = 24;
    public const int CURVE_PUBLICKEY = 48, CURVE_SECRETKEY = 49, CURVE_SERVERKEY = 50;
    public const int DONTWAIT = 1, SNDMORE = 2, POLLIN = 1, EAGAIN = 11;
    public const int MsgSize = 64; // sizeof(zmq_msg_t)

    [StructLayout(LayoutKind.Sequential)]
    public struct PollItem
    {
        public IntPtr Socket;
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libzmq")] public static extern IntPtr zmq_ctx_new();
    [DllImport("libzmq")] public static extern int zmq_ctx_term(IntPtr ctx);
    [DllImport("libzmq")] public static extern IntPtr zmq_socket(IntPtr ctx, int type);
    [DllImport("libzmq")] public static extern int zmq_close(IntPtr socket);
    [DllImport("libzmq")] public static extern int zmq_connect(IntPtr socket, [MarshalAs(UnmanagedType.LPStr)] string endpoint);
    [DllImport("libzmq")] public static extern int zmq_setsockopt(IntPtr socket, int option, byte[] value, UIntPtr size);
    [DllImport("libzmq")] public static extern int zmq_send(IntPtr socket, byte[] buf, UIntPtr len, int flags);
    [DllImport("libzmq")] public static extern int zmq_msg_init(IntPtr msg);
    [DllImport("libzmq")] public static extern int zmq_msg_recv(IntPtr msg, IntPtr socket, int flags);
    [DllImport("libzmq")] public static extern IntPtr zmq_msg_data(IntPtr msg);
    [DllImport("libzmq")] public static extern UIntPtr zmq_msg_size(IntPtr msg);
    [DllImport("libzmq")] public static extern int zmq_msg_more(IntPtr msg);
    [DllImport("libzmq")] public static extern int zmq_msg_close(IntPtr msg);
    [DllImport("libzmq")] public static extern int zmq_poll([In, Out] PollItem[] items, int count, long timeoutMs);
    [DllImport("libzmq")] public static extern int zmq_errno();
    [DllImport("libzmq")] public static extern IntPtr zmq_strerror(int errnum);

    public static string LastError()
    {
        return Marshal.PtrToStringAnsi(zmq_strerror(zmq_errno()));
    }

    public static void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException(what + ": " + LastError());
    }

    public static void SetInt(IntPtr s, int option, int value)
    {
        Check(zmq_setsockopt(s, option, BitConverter.GetBytes(value), (UIntPtr)4), "zmq_setsockopt " + option);
    }

    public static void SetBytes(IntPtr s, int option, byte[] value)
    {
        Check(zmq_setsockopt(s, option, value, (UIntPtr)value.Length), "zmq_setsockopt " + option);
    }
}

internal sealed class ZmqSocket : IDisposable
{
    private IntPtr _s;
    private readonly IntPtr _msg = Marshal.AllocHGlobal(Zmq.MsgSize);

    public ZmqSocket(IntPtr ctx, int type, CurveKeys keys)
    {
        _s = Zmq.zmq_socket(ctx, type);
        if (_s == IntPtr.Zero) throw new InvalidOperationException("zmq_socket: " + Zmq.LastError());
        Zmq.SetInt(_s, Zmq.LINGER, 0);
        if (keys != null)
        {
            Zmq.SetBytes(_s, Zmq.CURVE_SERVERKEY, keys.ServerPublic);
            Zmq.SetBytes(_s, Zmq.CURVE_PUBLICKEY, keys.ClientPublic);
            Zmq.SetBytes(_s, Zmq.CURVE_SECRETKEY, keys.ClientSecret);
        }
    }

    public IntPtr Handle { get { return _s; } }

    public void Connect(string endpoint)
    {
        Zmq.Check(Zmq.zmq_connect(_s, endpoint), "zmq_connect " + endpoint);
    }

    public bool Poll(TimeSpan timeout)
    {
        var items = new[] { new Zmq.PollItem { Socket = _s, Events = Zmq.POLLIN } };
        int rc = Zmq.zmq_poll(items, 1, (long)timeout.TotalMilliseconds);
        if (rc < 0) throw new InvalidOperationException("zmq_poll: " + Zmq.LastError());
        return rc > 0 && (items[0].Revents & Zmq.POLLIN) != 0;
    }

    public bool TryReceive(TimeSpan timeout, out List<byte[]> frames)
    {
        frames = null;
        if (!Poll(timeout)) return false;
        frames = new List<byte[]>(4);
        while (true)
        {
            Zmq.zmq_msg_init(_msg);
            int n = Zmq.zmq_msg_recv(_msg, _s, frames.Count == 0 ? Zmq.DONTWAIT : 0);
            if (n < 0)
            {
                int err = Zmq.zmq_errno();
                Zmq.zmq_msg_close(_msg);
                if (err == Zmq.EAGAIN && frames.Count == 0) { frames = null; return false; }
                throw new InvalidOperationException("zmq_msg_recv: " + Zmq.LastError());
            }
            var data = new byte[n];
            if (n > 0) Marshal.Copy(Zmq.zmq_msg_data(_msg), data, 0, n);
            frames.Add(data);
            bool more = Zmq.zmq_msg_more(_msg) != 0;
            Zmq.zmq_msg_close(_msg);
            if (!more) return true;
        }
    }

    public bool TrySend(IList<byte[]> frames)
    {
        for (int i = 0; i < frames.Count; i++)
        {
            int flags = Zmq.DONTWAIT | (i + 1 < frames.Count ? Zmq.SNDMORE : 0);
            if (Zmq.zmq_send(_s, frames[i], (UIntPtr)frames[i].Length, flags) < 0)
            {
                if (i == 0 && Zmq.zmq_errno() == Zmq.EAGAIN) return false;
                throw new InvalidOperationException("zmq_send: " + Zmq.LastError());
            }
        }
        return true;
    }

    public void Dispose()
    {
        if (_s != IntPtr.Zero)
        {
            Zmq.zmq_close(_s);
            _s = IntPtr.Zero;
            Marshal.FreeHGlobal(_msg);
        }
    }
}

internal sealed class LibZmqSubscriber : ISubscriber
{
    private readonly ZmqSocket _s;
    public LibZmqSubscriber(ZmqSocket s) { _s = s; }
    public bool TryReceive(TimeSpan timeout, out List<byte[]> frames) { return _s.TryReceive(timeout, out frames); }
    public void Dispose() { _s.Dispose(); }
}

internal sealed class LibZmqRequester : IRequester
{
    private readonly ZmqSocket _s;
    public LibZmqRequester(ZmqSocket s) { _s = s; }
    public bool TrySend(byte[] frame) { return _s.TrySend(new[] { frame }); }
    public bool TryReceive(TimeSpan timeout, out List<byte[]> frames) { return _s.TryReceive(timeout, out frames); }
    public void Dispose() { _s.Dispose(); }
}

internal sealed class LibZmqSender : ISender
{
    private readonly ZmqSocket _s;
    public LibZmqSender(ZmqSocket s) { _s = s; }
    public bool TrySend(IList<byte[]> frames) { return _s.TrySend(frames); }
    public void Dispose() { _s.Dispose(); }
}

/// <summary>IMessageTransport over libzmq: SUB, DEALER and PUSH sockets as the Unity package's NetMQ transport makes them.</summary>
public sealed class LibZmqTransport : IMessageTransport, IDisposable
{
    private IntPtr _ctx = Zmq.zmq_ctx_new();

    public ISubscriber OpenSubscriber(string endpoint, IList<string> topics, CurveKeys keys)
    {
        var s = new ZmqSocket(_ctx, Zmq.SUB, keys);
        Zmq.SetInt(s.Handle, Zmq.RCVHWM, 100);
        foreach (var t in topics) Zmq.SetBytes(s.Handle, Zmq.SUBSCRIBE, Encoding.ASCII.GetBytes(t));
        s.Connect(endpoint);
        return new LibZmqSubscriber(s);
    }

    public IRequester OpenRequester(string endpoint, CurveKeys keys)
    {
        var s = new ZmqSocket(_ctx, Zmq.DEALER, keys);
        s.Connect(endpoint);
        return new LibZmqRequester(s);
    }

    public ISender OpenSender(string endpoint, CurveKeys keys)
    {
        var s = new ZmqSocket(_ctx, Zmq.PUSH, keys);
        Zmq.SetInt(s.Handle, Zmq.SNDHWM, 50);
        s.Connect(endpoint);
        return new LibZmqSender(s);
    }

    public void Dispose()
    {
        if (_ctx != IntPtr.Zero)
        {
            Zmq.zmq_ctx_term(_ctx);
            _ctx = IntPtr.Zero;
        }
    }
}
