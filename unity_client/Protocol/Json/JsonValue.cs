using System;
using System.Collections.Generic;
using System.Globalization;

namespace Sonoguide.Protocol.Json
{
    /// <summary>The kind of a JSON value (RFC 8259, section 3).</summary>
    public enum JsonKind
    {
        /// <summary><c>null</c></summary>
        Null,
        /// <summary><c>true</c> or <c>false</c></summary>
        Bool,
        /// <summary>a number, kept as its text so integers keep every digit</summary>
        Number,
        /// <summary>a string</summary>
        String,
        /// <summary>an ordered list of values</summary>
        Array,
        /// <summary>a map from string keys to values</summary>
        Object,
    }

    /// <summary>
    /// An immutable-by-convention JSON value as read by <see cref="JsonReader"/>.
    /// </summary>
    /// <remarks>
    /// Unity has no System.Text.Json, so the protocol layer carries this small model.
    /// Numbers keep their source text: nanosecond timestamps such as <c>t_capture_ns</c>
    /// (about 1.8e18) need all 64 bits, which a double would round away.
    /// </remarks>
    public abstract class JsonValue
    {
        /// <summary>What kind of value this is.</summary>
        public abstract JsonKind Kind { get; }

        /// <summary>The shared <c>null</c> value.</summary>
        public static readonly JsonValue Null = new JsonNull();

        /// <summary>True for the JSON <c>null</c> literal.</summary>
        public bool IsNull
        {
            get { return Kind == JsonKind.Null; }
        }

        /// <summary>A JSON string.</summary>
        public static JsonValue From(string value)
        {
            return value == null ? Null : new JsonString(value);
        }

        /// <summary>A JSON boolean.</summary>
        public static JsonValue From(bool value)
        {
            return value ? JsonBool.True : JsonBool.False;
        }

        /// <summary>A JSON integer.</summary>
        public static JsonValue From(long value)
        {
            return new JsonNumber(value.ToString(CultureInfo.InvariantCulture));
        }

        /// <summary>A JSON number from a finite double (round-trip text).</summary>
        /// <exception cref="ArgumentException">NaN or an infinity (not JSON).</exception>
        public static JsonValue From(double value)
        {
            if (double.IsNaN(value) || double.IsInfinity(value))
            {
                throw new ArgumentException("JSON has no NaN or Infinity; send null instead", "value");
            }
            return new JsonNumber(JsonNumber.Format(value));
        }

        /// <summary>Structural equality: same kind and content; numbers compare by value.</summary>
        public abstract bool DeepEquals(JsonValue other);

        /// <summary>The value as compact JSON text.</summary>
        public override string ToString()
        {
            return JsonWriter.Write(this);
        }
    }

    /// <summary>The JSON <c>null</c> literal.</summary>
    public sealed class JsonNull : JsonValue
    {
        internal JsonNull()
        {
        }

        /// <inheritdoc />
        public override JsonKind Kind
        {
            get { return JsonKind.Null; }
        }

        /// <inheritdoc />
        public override bool DeepEquals(JsonValue other)
        {
            return other != null && other.Kind == JsonKind.Null;
        }
    }

    /// <summary>A JSON boolean.</summary>
    public sealed class JsonBool : JsonValue
    {
        /// <summary><c>true</c></summary>
        public static readonly JsonBool True = new JsonBool(true);

        /// <summary><c>false</c></summary>
        public static readonly JsonBool False = new JsonBool(false);

        /// <summary>The value.</summary>
        public bool Value { get; }

        private JsonBool(bool value)
        {
            Value = value;
        }

        /// <inheritdoc />
        public override JsonKind Kind
        {
            get { return JsonKind.Bool; }
        }

        /// <inheritdoc />
        public override bool DeepEquals(JsonValue other)
        {
            var b = other as JsonBool;
            return b != null && b.Value == Value;
        }
    }

    /// <summary>A JSON number, kept as its source text.</summary>
    public sealed class JsonNumber : JsonValue
    {
        /// <summary>The number exactly as written (e.g. <c>1790000000000000000</c>, <c>-4.5e-3</c>).</summary>
        public string Text { get; }

        /// <summary>Create from number text already checked by the reader or produced by a formatter.</summary>
        internal JsonNumber(string text)
        {
            Text = text;
        }

        /// <inheritdoc />
        public override JsonKind Kind
        {
            get { return JsonKind.Number; }
        }

        /// <summary>
        /// True when the text is an integer literal (no fraction, no exponent), the way Python's
        /// <c>json</c> module tells an <c>int</c> from a <c>float</c>.
        /// </summary>
        public bool IsIntegerLiteral
        {
            get
            {
                if (Text == "NaN" || Text.EndsWith("Infinity", StringComparison.Ordinal))
                {
                    return false;
                }
                return Text.IndexOf('.') < 0 && Text.IndexOf('e') < 0 && Text.IndexOf('E') < 0;
            }
        }

        /// <summary>The value as a 64-bit integer when it is an integer literal in range.</summary>
        public bool TryGetInt64(out long value)
        {
            if (!IsIntegerLiteral)
            {
                value = 0;
                return false;
            }
            return long.TryParse(Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        }

        /// <summary>The value as a double (integers convert with the usual rounding).</summary>
        public double AsDouble()
        {
            if (Text == "NaN")
            {
                return double.NaN;
            }
            if (Text == "Infinity")
            {
                return double.PositiveInfinity;
            }
            if (Text == "-Infinity")
            {
                return double.NegativeInfinity;
            }
            double d;
            if (double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out d))
            {
                return d;
            }
            // The reader only builds valid number text, so a failure is an overflow such as 1e400:
            // Python reads it as an infinity, and so do we.
            return Text.StartsWith("-", StringComparison.Ordinal) ? double.NegativeInfinity : double.PositiveInfinity;
        }

        /// <inheritdoc />
        public override bool DeepEquals(JsonValue other)
        {
            var n = other as JsonNumber;
            if (n == null)
            {
                return false;
            }
            long a, b;
            if (TryGetInt64(out a) && n.TryGetInt64(out b))
            {
                return a == b;
            }
            double x = AsDouble(), y = n.AsDouble();
            return x.Equals(y);
        }

        /// <summary>Shortest text that parses back to exactly <paramref name="value"/>.</summary>
        internal static string Format(double value)
        {
            string r = value.ToString("R", CultureInfo.InvariantCulture);
            if (double.Parse(r, NumberStyles.Float, CultureInfo.InvariantCulture).Equals(value))
            {
                return r;
            }
            return value.ToString("G17", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>A JSON string.</summary>
    public sealed class JsonString : JsonValue
    {
        /// <summary>The decoded string.</summary>
        public string Value { get; }

        /// <summary>Create a JSON string.</summary>
        public JsonString(string value)
        {
            if (value == null)
            {
                throw new ArgumentNullException("value");
            }
            Value = value;
        }

        /// <inheritdoc />
        public override JsonKind Kind
        {
            get { return JsonKind.String; }
        }

        /// <inheritdoc />
        public override bool DeepEquals(JsonValue other)
        {
            var s = other as JsonString;
            return s != null && string.Equals(s.Value, Value, StringComparison.Ordinal);
        }
    }

    /// <summary>A JSON array.</summary>
    public sealed class JsonArray : JsonValue
    {
        private readonly List<JsonValue> _items;

        /// <summary>Create an empty array.</summary>
        public JsonArray()
        {
            _items = new List<JsonValue>();
        }

        /// <summary>Create an array holding <paramref name="items"/>.</summary>
        public JsonArray(IEnumerable<JsonValue> items)
        {
            _items = new List<JsonValue>(items);
        }

        /// <inheritdoc />
        public override JsonKind Kind
        {
            get { return JsonKind.Array; }
        }

        /// <summary>Number of items.</summary>
        public int Count
        {
            get { return _items.Count; }
        }

        /// <summary>The item at <paramref name="index"/>.</summary>
        public JsonValue this[int index]
        {
            get { return _items[index]; }
        }

        /// <summary>The items in order.</summary>
        public IReadOnlyList<JsonValue> Items
        {
            get { return _items; }
        }

        /// <summary>Append an item (used while building requests).</summary>
        public JsonArray Add(JsonValue item)
        {
            _items.Add(item ?? Null);
            return this;
        }

        /// <inheritdoc />
        public override bool DeepEquals(JsonValue other)
        {
            var a = other as JsonArray;
            if (a == null || a.Count != Count)
            {
                return false;
            }
            for (int i = 0; i < Count; i++)
            {
                if (!_items[i].DeepEquals(a._items[i]))
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>A JSON object; keys keep their first-seen order, a repeated key keeps its last value (as Python's json).</summary>
    public sealed class JsonObject : JsonValue
    {
        private readonly Dictionary<string, JsonValue> _map = new Dictionary<string, JsonValue>(StringComparer.Ordinal);
        private readonly List<string> _keys = new List<string>();

        /// <inheritdoc />
        public override JsonKind Kind
        {
            get { return JsonKind.Object; }
        }

        /// <summary>Number of members.</summary>
        public int Count
        {
            get { return _keys.Count; }
        }

        /// <summary>The keys in document order.</summary>
        public IReadOnlyList<string> Keys
        {
            get { return _keys; }
        }

        /// <summary>True when <paramref name="key"/> is present (even with a <c>null</c> value).</summary>
        public bool ContainsKey(string key)
        {
            return _map.ContainsKey(key);
        }

        /// <summary>The member's value, or false when absent.</summary>
        public bool TryGetValue(string key, out JsonValue value)
        {
            return _map.TryGetValue(key, out value);
        }

        /// <summary>The member's value, or <c>null</c> (the C# null reference) when absent.</summary>
        public JsonValue this[string key]
        {
            get
            {
                JsonValue v;
                return _map.TryGetValue(key, out v) ? v : null;
            }
        }

        /// <summary>Set a member (replaces an existing value in place).</summary>
        public JsonObject Set(string key, JsonValue value)
        {
            if (key == null)
            {
                throw new ArgumentNullException("key");
            }
            if (!_map.ContainsKey(key))
            {
                _keys.Add(key);
            }
            _map[key] = value ?? Null;
            return this;
        }

        /// <summary>Remove a member; false when it was absent.</summary>
        public bool Remove(string key)
        {
            if (!_map.Remove(key))
            {
                return false;
            }
            _keys.Remove(key);
            return true;
        }

        /// <inheritdoc />
        public override bool DeepEquals(JsonValue other)
        {
            var o = other as JsonObject;
            if (o == null || o.Count != Count)
            {
                return false;
            }
            foreach (var key in _keys)
            {
                JsonValue v;
                if (!o._map.TryGetValue(key, out v) || !_map[key].DeepEquals(v))
                {
                    return false;
                }
            }
            return true;
        }
    }
}
