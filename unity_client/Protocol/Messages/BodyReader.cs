using System.Collections.Generic;
using Sonoguide.Protocol.Json;

namespace Sonoguide.Protocol.Messages
{
    /// <summary>
    /// Reads typed fields out of a JSON object with errors that name the field
    /// (e.g. <c>overlay body field 'frame_seq' missing or not an integer</c>). Unknown fields are ignored,
    /// as PROTOCOL.md's "extend, do not break" rule requires.
    /// </summary>
    internal sealed class BodyReader
    {
        private readonly JsonObject _obj;
        private readonly string _where;

        internal BodyReader(JsonObject obj, string where)
        {
            _obj = obj;
            _where = where;
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

        internal bool Has(string key)
        {
            return _obj.ContainsKey(key);
        }

        internal long Long(string key)
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
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            return Long(key);
        }

        internal double Double(string key)
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
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            return Double(key);
        }

        internal bool Bool(string key)
        {
            var b = Get(key) as JsonBool;
            if (b == null)
            {
                throw Bad(key, "true/false");
            }
            return b.Value;
        }

        internal string String(string key)
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
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            return String(key);
        }

        internal string OptionalString(string key, string fallback)
        {
            return Has(key) ? (NullableString(key) ?? fallback) : fallback;
        }

        internal JsonObject NullableObject(string key)
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
            var o = NullableObject(key);
            if (o == null)
            {
                throw Bad(key, "an object");
            }
            return o;
        }

        internal JsonArray List(string key)
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
            var v = Get(key);
            if (v == null || v.IsNull)
            {
                return null;
            }
            return Numbers(key, count);
        }

        internal List<string> Strings(string key)
        {
            var a = List(key);
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
            var o = RequiredObject(key);
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
            var result = new Dictionary<string, double?>(System.StringComparer.Ordinal);
            var o = NullableObject(key);
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
