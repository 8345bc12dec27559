using System;
using System.Text;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Control
{
    /// <summary>
    /// A control request <c>{"id": "42", "command": "freeze"}</c> (PROTOCOL.md, "Control channel": one frame of UTF-8 JSON,
    /// at most 64 KiB).
    /// </summary>
    public sealed class ControlRequest
    {
        /// <summary>The request size limit of the core (<c>MAX_REQUEST_BYTES</c> in <c>ar_bridge/control.py</c>).</summary>
        public const int MaxBytes = 64 * 1024;

        /// <summary>The id the reply will echo.</summary>
        public string Id { get; }

        /// <summary>The command (normalised).</summary>
        public string Command { get; }

        /// <summary>The encoded frame.</summary>
        public byte[] Frame { get; }

        /// <summary>Build a request; <paramref name="extra"/> may add fields (e.g. arguments of future commands).</summary>
        /// <exception cref="ArgumentException">empty id or command, or the request exceeds 64 KiB.</exception>
        public ControlRequest(string id, string command, JsonObject extra = null)
        {
            if (string.IsNullOrEmpty(id))
            {
                throw new ArgumentException("a control request needs an id", "id");
            }
            string normalised = Commands.Normalise(command);
            if (normalised.Length == 0)
            {
                throw new ArgumentException("a control request needs a command such as 'freeze'", "command");
            }
            var obj = new JsonObject();
            if (extra != null)
            {
                foreach (var key in extra.Keys) obj.Set(key, extra[key]);
            }
            obj.Set("id", JsonValue.From(id)).Set("command", JsonValue.From(normalised));
            Frame = JsonWriter.WriteUtf8(obj);
            if (Frame.Length > MaxBytes)
            {
                throw new ArgumentException("control request is " + Frame.Length + " bytes; the core accepts at most " + MaxBytes, "extra");
            }
            Id = id;
            Command = normalised;
        }

        /// <inheritdoc />
        public override string ToString()
        {
            return Encoding.UTF8.GetString(Frame);
        }
    }
}
