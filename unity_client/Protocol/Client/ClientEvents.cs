using Sonoguide.Protocol.Control;
using Sonoguide.Protocol.Link;
using Sonoguide.Protocol.Messages;

namespace Sonoguide.Protocol.Client
{
    /// <summary>Something the background thread hands to the main thread.</summary>
    public abstract class ClientEvent
    {
        /// <summary>Local monotonic time when it happened (ns).</summary>
        public long LocalTimeNs { get; internal set; }
    }

    /// <summary>A decoded message other than an overlay (overlays go through a latest-wins slot instead).</summary>
    public sealed class MessageEvent : ClientEvent
    {
        /// <summary>The message.</summary>
        public ProtocolMessage Message { get; internal set; }

        /// <summary>What its sequence number said.</summary>
        public SequenceResult Sequence { get; internal set; }
    }

    /// <summary>The answer to a control request (or a timeout made up by the client).</summary>
    public sealed class ReplyEvent : ClientEvent
    {
        /// <summary>The request.</summary>
        public ControlRequest Request { get; internal set; }

        /// <summary>The reply.</summary>
        public ControlReply Reply { get; internal set; }
    }

    /// <summary>The link changed state.</summary>
    public sealed class LinkEvent : ClientEvent
    {
        /// <summary>The new state.</summary>
        public LinkState State { get; internal set; }

        /// <summary>Why, in words.</summary>
        public string Detail { get; internal set; }
    }

    /// <summary>A message could not be used, a socket failed, or a reply was malformed.</summary>
    public sealed class ErrorEvent : ClientEvent
    {
        /// <summary>The reason, naming the problem.</summary>
        public string Reason { get; internal set; }
    }

    /// <summary>Something worth a log line that is not a fault (the core's clock changed or its wall clock stepped).</summary>
    public sealed class NoticeEvent : ClientEvent
    {
        /// <summary>What happened, in words.</summary>
        public string Text { get; internal set; }
    }
}
