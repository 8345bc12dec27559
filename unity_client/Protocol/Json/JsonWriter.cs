using System;
using System.Globalization;
using System.Text;

namespace Sonoguide.Protocol.Json
{
    /// <summary>Writes <see cref="JsonValue"/> trees as compact JSON (RFC 8259), ASCII-only like Python's default.</summary>
    public static class JsonWriter
    {
        /// <summary>Compact JSON text of <paramref name="value"/>.</summary>
        public static string Write(JsonValue value)
        {
            var sb = new StringBuilder();
            Append(sb, value ?? JsonValue.Null);
            return sb.ToString();
        }

        /// <summary>Compact JSON as UTF-8 bytes (what goes into a ZeroMQ frame).</summary>
        public static byte[] WriteUtf8(JsonValue value)
        {
            return Encoding.UTF8.GetBytes(Write(value));
        }

        private static void Append(StringBuilder sb, JsonValue value)
        {
            switch (value.Kind)
            {
                case JsonKind.Null:
                    sb.Append("null");
                    break;
                case JsonKind.Bool:
                    sb.Append(((JsonBool)value).Value ? "true" : "false");
                    break;
                case JsonKind.Number:
                    sb.Append(((JsonNumber)value).Text);
                    break;
                case JsonKind.String:
                    AppendString(sb, ((JsonString)value).Value);
                    break;
                case JsonKind.Array:
                {
                    var arr = (JsonArray)value;
                    sb.Append('[');
                    for (int i = 0; i < arr.Count; i++)
                    {
                        if (i > 0) sb.Append(',');
                        Append(sb, arr[i]);
                    }
                    sb.Append(']');
                    break;
                }
                case JsonKind.Object:
                {
                    var obj = (JsonObject)value;
                    sb.Append('{');
                    bool first = true;
                    foreach (var key in obj.Keys)
                    {
                        if (!first) sb.Append(',');
                        first = false;
                        AppendString(sb, key);
                        sb.Append(':');
                        Append(sb, obj[key]);
                    }
                    sb.Append('}');
                    break;
                }
                default:
                    throw new ArgumentOutOfRangeException("value", "unknown JSON kind");
            }
        }

        private static void AppendString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20 || c > 0x7E)
                        {
                            sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            sb.Append(c);
                        }
                        break;
                }
            }
            sb.Append('"');
        }
    }
}
