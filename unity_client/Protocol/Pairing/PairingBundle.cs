using System;
using System.IO;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Pairing
{
    /// <summary>CurveZMQ keys of a paired headset as 32-byte binary keys (what ZeroMQ libraries take).</summary>
    public sealed class CurveKeys
    {
        /// <summary>The headset's public key.</summary>
        public byte[] ClientPublic { get; }

        /// <summary>The headset's secret key.</summary>
        public byte[] ClientSecret { get; }

        /// <summary>The core's public key.</summary>
        public byte[] ServerPublic { get; }

        /// <summary>Create from binary keys (32 bytes each).</summary>
        public CurveKeys(byte[] clientPublic, byte[] clientSecret, byte[] serverPublic)
        {
            Check(clientPublic, "clientPublic");
            Check(clientSecret, "clientSecret");
            Check(serverPublic, "serverPublic");
            ClientPublic = clientPublic;
            ClientSecret = clientSecret;
            ServerPublic = serverPublic;
        }

        private static void Check(byte[] key, string name)
        {
            if (key == null || key.Length != 32)
            {
                throw new ArgumentException("CurveZMQ keys are 32 bytes", name);
            }
        }
    }

    /// <summary>
    /// The pairing bundle written by <c>sonoguide pair --name HEADSET</c> (PROTOCOL.md, "Security"; fields of
    /// <c>PairingBundle</c> in <c>ar_bridge/security.py</c>): the headset's CurveZMQ key pair, the core's public key and the
    /// two endpoints, as JSON. It holds a secret key: keep it out of version control and out of StreamingAssets.
    /// </summary>
    public sealed class PairingBundle
    {
        /// <summary>The headset's name as paired.</summary>
        public string Name { get; private set; }

        /// <summary>The headset's public key, Z85 (40 characters).</summary>
        public string ClientPublic { get; private set; }

        /// <summary>The headset's secret key, Z85 (40 characters).</summary>
        public string ClientSecret { get; private set; }

        /// <summary>The core's public key, Z85 (40 characters).</summary>
        public string ServerPublic { get; private set; }

        /// <summary>The data (SUB) endpoint.</summary>
        public string PubEndpoint { get; private set; }

        /// <summary>The control (DEALER) endpoint.</summary>
        public string ControlEndpoint { get; private set; }

        /// <summary>The keys decoded to binary.</summary>
        public CurveKeys Keys { get; private set; }

        /// <summary>Read a bundle file.</summary>
        /// <exception cref="ProtocolException">missing file or invalid content; the message says how to fix it.</exception>
        public static PairingBundle Load(string path)
        {
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception exc)
            {
                if (exc is IOException || exc is UnauthorizedAccessException || exc is ArgumentException || exc is NotSupportedException)
                {
                    throw new ProtocolException("cannot read the pairing bundle '" + path + "': " + exc.Message
                                                + "; copy the file written by 'sonoguide pair --name HEADSET' to the headset", exc);
                }
                throw;
            }
            return Parse(text);
        }

        /// <summary>Parse bundle JSON.</summary>
        /// <exception cref="ProtocolException">not JSON, a field missing, a key that is not 40 Z85 characters, or a bad endpoint.</exception>
        public static PairingBundle Parse(string json)
        {
            JsonObject obj;
            try
            {
                obj = JsonReader.Parse(json) as JsonObject;
            }
            catch (JsonParseException exc)
            {
                throw new ProtocolException("pairing bundle is not JSON: " + exc.Message, exc);
            }
            if (obj == null)
            {
                throw new ProtocolException("pairing bundle must be a JSON object");
            }
            var b = new PairingBundle
            {
                Name = Field(obj, "name"),
                ClientPublic = Field(obj, "client_public"),
                ClientSecret = Field(obj, "client_secret"),
                ServerPublic = Field(obj, "server_public"),
                PubEndpoint = Endpoint(obj, "pub_endpoint"),
                ControlEndpoint = Endpoint(obj, "control_endpoint"),
            };
            b.Keys = new CurveKeys(Key(b.ClientPublic, "client_public"), Key(b.ClientSecret, "client_secret"), Key(b.ServerPublic, "server_public"));
            return b;
        }

        /// <summary>
        /// False for a bind-only address such as <c>tcp://*:5556</c> or <c>tcp://0.0.0.0:5556</c>: the bundle then carries the
        /// core's bind address, and the headset must be given the core's LAN address instead.
        /// </summary>
        public static bool IsConnectable(string endpoint)
        {
            if (endpoint == null || !endpoint.StartsWith("tcp://", StringComparison.Ordinal))
            {
                return endpoint != null;
            }
            string hostPort = endpoint.Substring(6);
            int colon = hostPort.LastIndexOf(':');
            string host = colon < 0 ? hostPort : hostPort.Substring(0, colon);
            return !(host == "*" || host == "0.0.0.0" || host == "[::]" || host == "::" || host.Length == 0);
        }

        private static string Field(JsonObject obj, string key)
        {
            var s = obj[key] as JsonString;
            if (s == null || s.Value.Length == 0)
            {
                throw new ProtocolException("pairing bundle field '" + key + "' missing or not a string; re-run 'sonoguide pair --name HEADSET'");
            }
            return s.Value;
        }

        private static string Endpoint(JsonObject obj, string key)
        {
            string ep = Field(obj, key);
            if (!(ep.StartsWith("tcp://", StringComparison.Ordinal) || ep.StartsWith("ipc://", StringComparison.Ordinal)
                  || ep.StartsWith("inproc://", StringComparison.Ordinal)) || ep.IndexOf("://", StringComparison.Ordinal) + 3 >= ep.Length)
            {
                throw new ProtocolException("pairing bundle field '" + key + "' is '" + ep + "', not a ZeroMQ endpoint like tcp://192.168.1.20:5556");
            }
            return ep;
        }

        private static byte[] Key(string z85, string field)
        {
            if (z85.Length != 40)
            {
                throw new ProtocolException("pairing bundle field '" + field + "' must be a 40-character Z85 CurveZMQ key, got " + z85.Length + " characters");
            }
            try
            {
                return Z85.Decode(z85);
            }
            catch (FormatException exc)
            {
                throw new ProtocolException("pairing bundle field '" + field + "' is not Z85: " + exc.Message, exc);
            }
        }
    }
}
