using System;

namespace Sonoguide.Protocol
{
    /// <summary>
    /// A message, reply or file does not follow the sonoguide wire contract
    /// (<c>ar_bridge/PROTOCOL.md</c>); <see cref="Exception.Message"/> names the offending part.
    /// </summary>
    /// <remarks>
    /// The client treats a <see cref="ProtocolException"/> as "this one message is unusable":
    /// it is counted and reported, the message is dropped, and the link keeps running.
    /// </remarks>
    public class ProtocolException : Exception
    {
        /// <summary>Create the exception with the reason a person can act on.</summary>
        public ProtocolException(string reason) : base(reason)
        {
        }

        /// <summary>Create the exception with the reason and the low-level cause.</summary>
        public ProtocolException(string reason, Exception inner) : base(reason, inner)
        {
        }
    }

    /// <summary>
    /// The message carries a schema version this client does not know
    /// (PROTOCOL.md, "extend, do not break": a breaking change bumps the version and
    /// clients refuse versions they do not know).
    /// </summary>
    public sealed class UnsupportedSchemaException : ProtocolException
    {
        /// <summary>The schema string found in the header, e.g. <c>sonoguide.overlay/2</c>.</summary>
        public string Schema { get; }

        /// <summary>Create the exception for <paramref name="schema"/> with the reason.</summary>
        public UnsupportedSchemaException(string schema, string reason) : base(reason)
        {
            Schema = schema;
        }
    }
}
