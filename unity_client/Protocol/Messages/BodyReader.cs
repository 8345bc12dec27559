using System.Collections.Generic;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// Reads typed fields out of a JSON object with errors that name the field
    /// (e.g. <c>overlay body field 'frame_seq' missing or not an integer</c>). Unknown fields are ignored,
    /// as PROTOCOL.md's "extend, do not break" rule requires.
    /// </summary>
    /// <remarks>
    /// Each read names the field's place in the wire schema (<c>schemaPath</c>, a <c>$defs</c> entry of
    /// <c>wire_schema.json</c>) and, while a <see cref="WireFieldRecorder"/> is active on the thread, records the
    /// field, the JSON types it accepts, whether it accepts null and whether it requires the field. The package's
    /// tests compare these records with the schema, so the C# reader and the Python writer cannot drift apart.
    /// </remarks>
    internal sealed class BodyReader
    {
        private readonly JsonObject _obj;
        private readonly string _where;
        private readonly string _schemaPath;
        private readonly WireFieldRecorder _recorder;
        private HashSet<string> _probed;

        internal BodyReader(JsonObject obj, string where, string schemaPath)
        {
            _obj = obj;
            _where = where;
            _schemaPath = schemaPath;
            _recorder = WireFieldRecorder.Current;
        }

        /// <summary>Record a read (only while a recorder is active): the field accepts <paramref name="types"/>.</summary>
        private void Note(string key, string types, bool nullable, bool required)
        {
            if (_recorder != null)
            {
                bool probed = _probed != null && _probed.Contains(key);
                _recorder.Add(new WireFieldUse(_schemaPath, key, types, nullable, required && !probed));
            }
        }

        internal JsonObject Object
        {
            get { return _obj; }
        }

        private ProtocolException Bad(string key, string wanted)
        {
            return new ProtocolException(_where + " field '" + key + "' missing or not " + wanted);
        }

        private JsonValue Get(string key)
        {
            JsonValue v;
            return _obj.TryGetValue(key, out v) ? v : null;
        }

        /// <summary>Whether the field is present; a field read after this check counts as optional.</summary>
        internal bool Has(string key)
        {
            if (_recorder != null)
            {
                (_probed ?? (_probed = new HashSet<string>(System.StringComparer.Ordinal))).Add(key);
                if (!_obj.ContainsKey(key))
                {
                    _recorder.AddAbsent(_schemaPath, key);
                }
            }
            return _obj.ContainsKey(key);
        }

        internal long Long(string key)
        {
            Note(key, "integer", false, true);
            return LongValue(key);
        }

        private long LongValue(string key)
        {
            var n = Get(key) as JsonNumber;
            long v;
            if (n == null || !n.TryGetInt64(out v))
            {
                throw Bad(key, "an integer");
            }
            return v;
        }

        internal long? NullableLong(string key)
        {
            Note(key, "integer", true, false);
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            return LongValue(key);
        }

        /// <summary>An optional integer that defaults to <paramref name="fallback"/> when absent or null.</summary>
        internal long OptionalLong(string key, long fallback)
        {
            return NullableLong(key) ?? fallback;
        }

        internal double Double(string key)
        {
            Note(key, "number", false, true);
            return DoubleValue(key);
        }

        private double DoubleValue(string key)
        {
            var n = Get(key) as JsonNumber;
            if (n == null)
            {
                throw Bad(key, "a number");
            }
            return n.AsDouble();
        }

        internal double? NullableDouble(string key)
        {
            Note(key, "number", true, false);
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            return DoubleValue(key);
        }

        internal bool Bool(string key)
        {
            Note(key, "boolean", false, true);
            var b = Get(key) as JsonBool;
            if (b == null)
            {
                throw Bad(key, "true/false");
            }
            return b.Value;
        }

        internal string String(string key)
        {
            Note(key, "string", false, true);
            return StringValue(key);
        }

        private string StringValue(string key)
        {
            var s = Get(key) as JsonString;
            if (s == null)
            {
                throw Bad(key, "a string");
            }
            return s.Value;
        }

        internal string NullableString(string key)
        {
            Note(key, "string", true, false);
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            return StringValue(key);
        }

        /// <summary>A request id echoed back: a string or an integer (as its text), or null.</summary>
        internal string NullableIdText(string key)
        {
            Note(key, "string|integer", true, false);
            var v = Get(key);
            if (v is JsonString)
            {
                return ((JsonString)v).Value;
            }
            if (v is JsonNumber)
            {
                return ((JsonNumber)v).Text;
            }
            if (v == null || v.IsNull)
            {
                return null;
            }
            throw Bad(key, "a string or an integer");
        }

        internal string OptionalString(string key, string fallback)
        {
            return Has(key) ? (NullableString(key) ?? fallback) : fallback;
        }

        internal JsonObject NullableObject(string key)
        {
            Note(key, "object", true, false);
            return ObjectValue(key);
        }

        private JsonObject ObjectValue(string key)
        {
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            var o = v as JsonObject;
            if (o == null)
            {
                throw Bad(key, "an object");
            }
            return o;
        }

        internal JsonObject RequiredObject(string key)
        {
            Note(key, "object", false, true);
            return RequiredObjectValue(key);
        }

        private JsonObject RequiredObjectValue(string key)
        {
            var o = ObjectValue(key);
            if (o == null)
            {
                throw Bad(key, "an object");
            }
            return o;
        }

        internal JsonArray List(string key)
        {
            Note(key, "array", false, true);
            return ListValue(key);
        }

        private JsonArray ListValue(string key)
        {
            var a = Get(key) as JsonArray;
            if (a == null)
            {
                throw Bad(key, "a list");
            }
            return a;
        }

        internal double[] Numbers(string key, int count)
        {
            Note(key, "array", false, true);
            return NumbersValue(key, count);
        }

        private double[] NumbersValue(string key, int count)
        {
            var a = Get(key) as JsonArray;
            if (a == null || a.Count != count)
            {
                throw Bad(key, "a list of " + count + " numbers");
            }
            var result = new double[count];
            for (int i = 0; i < count; i++)
            {
                var n = a[i] as JsonNumber;
                if (n == null)
                {
                    throw Bad(key, "a list of " + count + " numbers");
                }
                result[i] = n.AsDouble();
            }
            return result;
        }

        internal double[] NullableNumbers(string key, int count)
        {
            Note(key, "array", true, false);
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            return NumbersValue(key, count);
        }

        internal List<string> Strings(string key)
        {
            Note(key, "array", false, true);
            var a = ListValue(key);
            var result = new List<string>(a.Count);
            foreach (var item in a.Items)
            {
                var s = item as JsonString;
                if (s == null)
                {
                    throw Bad(key, "a list of strings");
                }
                result.Add(s.Value);
            }
            return result;
        }

        internal Dictionary<string, bool> BoolMap(string key)
        {
            Note(key, "map", false, true);
            var o = RequiredObjectValue(key);
            var result = new Dictionary<string, bool>(System.StringComparer.Ordinal);
            foreach (var k in o.Keys)
            {
                var b = o[k] as JsonBool;
                if (b == null)
                {
                    throw new ProtocolException(_where + " field '" + key + "." + k + "' is not true/false");
                }
                result[k] = b.Value;
            }
            return result;
        }

        /// <summary>A map of class name to distance (mm) or null, as the needle's distance fields.</summary>
        internal Dictionary<string, double?> NullableNumberMap(string key)
        {
            Note(key, "map", true, false);
            var result = new Dictionary<string, double?>(System.StringComparer.Ordinal);
            var o = ObjectValue(key);
            if (o == null)
            {
                return result;
            }
            foreach (var k in o.Keys)
            {
                var v = o[k];
                if (v.IsNull)
                {
                    result[k] = null;
                    continue;
                }
                var n = v as JsonNumber;
                if (n == null)
                {
                    throw new ProtocolException(_where + " field '" + key + "." + k + "' is not a number or null");
                }
                result[k] = n.AsDouble();
            }
            return result;
        }
    }
}
