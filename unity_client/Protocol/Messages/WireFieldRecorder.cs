using System;
using System.Collections.Generic;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// One body field the client read: where in the wire schema (<see cref="Path"/>, a <c>$defs</c> entry of
    /// <c>wire_schema.json</c> such as <c>overlay.needle</c>), which JSON types it accepts, whether it accepts null and
    /// whether it fails without the field.
    /// </summary>
    public sealed class WireFieldUse
    {
        /// <summary>The schema definition the field belongs to (<c>overlay</c>, <c>state.last_command</c>, ...).</summary>
        public string Path { get; }

        /// <summary>The field name.</summary>
        public string Key { get; }

        /// <summary>JSON types accepted, separated by <c>|</c>: <c>integer</c>, <c>number</c>, <c>boolean</c>, <c>string</c>,
        /// <c>array</c>, <c>object</c> or <c>map</c> (an object with free keys).</summary>
        public string Types { get; }

        /// <summary>The reader accepts null.</summary>
        public bool Nullable { get; }

        /// <summary>The reader fails when the field is absent.</summary>
        public bool Required { get; }

        /// <summary>Create a record.</summary>
        public WireFieldUse(string path, string key, string types, bool nullable, bool required)
        {
            Path = path;
            Key = key;
            Types = types;
            Nullable = nullable;
            Required = required;
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            return Path + "." + Key + " (" + Types + (Nullable ? "|null" : "") + (Required ? ", required" : ", optional") + ")";
        }
    }

    /// <summary>
    /// Records, on the current thread, every body field the message readers touch while it is active
    /// (<c>using (var r = WireFieldRecorder.Start()) { MessageParser.Parse(...); }</c>). The package's tests parse every
    /// golden message under a recorder and compare the records with <c>wire_schema.json</c>; outside a recorder the
    /// readers record nothing and allocate nothing for it.
    /// </summary>
    public sealed class WireFieldRecorder : IDisposable
    {
        [ThreadStatic] private static WireFieldRecorder _current;

        private readonly WireFieldRecorder _outer;
        private readonly List<WireFieldUse> _uses = new List<WireFieldUse>();
        private readonly List<WireFieldUse> _absent = new List<WireFieldUse>();

        private WireFieldRecorder(WireFieldRecorder outer)
        {
            _outer = outer;
        }

        internal static WireFieldRecorder Current
        {
            get { return _current; }
        }

        /// <summary>Start recording on this thread until the recorder is disposed.</summary>
        public static WireFieldRecorder Start()
        {
            var r = new WireFieldRecorder(_current);
            _current = r;
            return r;
        }

        /// <summary>Every field read, in order (a field read by several messages appears once per read).</summary>
        public IReadOnlyList<WireFieldUse> Uses
        {
            get { return _uses; }
        }

        /// <summary>Optional fields the readers looked for in a message that did not carry them.</summary>
        public IReadOnlyList<WireFieldUse> Absent
        {
            get { return _absent; }
        }

        internal void Add(WireFieldUse use)
        {
            _uses.Add(use);
        }

        internal void AddAbsent(string path, string key)
        {
            _absent.Add(new WireFieldUse(path, key, "", true, false));
        }

        /// <summary>Stop recording (the enclosing recorder, if any, becomes active again).</summary>
        public void Dispose()
        {
            _current = _outer;
        }
    }
}
