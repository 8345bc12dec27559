using System;
using Sonoguide.Protocol.Client;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// Where the ZeroMQ implementation plugs in. The optional <c>Sonoguide.Runtime.NetMQ</c> assembly (compiled when NetMQ is
    /// installed and the scripting define <c>SONOGUIDE_NETMQ</c> is set; see README) registers itself here at start-up, so
    /// the rest of the package never references NetMQ directly.
    /// </summary>
    public static class TransportRegistry
    {
        /// <summary>Creates the transport; null until an implementation registered.</summary>
        public static Func<IMessageTransport> Factory { get; set; }

        /// <summary>The reason no transport is available, for the one-line error.</summary>
        public const string MissingHelp =
            "no ZeroMQ transport: add NetMQ to the project (NuGetForUnity, or NetMQ/AsyncIO/NaCl.Net DLLs in Assets/Plugins) "
            + "and the scripting define SONOGUIDE_NETMQ (Project Settings > Player > Script Compilation); see the package README";
    }
}
