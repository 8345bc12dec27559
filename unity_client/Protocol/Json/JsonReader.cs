using System;
using System.Globalization;
using System.Text;

namespace Sonoguide.Protocol.Json
{
    /// <summary>The text is not valid JSON; <see cref="Position"/> is the character offset of the problem.</summary>
    public sealed class JsonParseException : FormatException
    {
        /// <summary>Character offset where parsing failed.</summary>
        public int Position { get; }

        /// <summary>Create the exception.</summary>
        public JsonParseException(string message, int position)
            : base(message + " at character " + position.ToString(CultureInfo.InvariantCulture))
        {
            Position = position;
        }
    }

    /// <summary>
    /// A small, strict JSON reader (RFC 8259) for message headers, control replies and pairing bundles.
    /// </summary>
    /// <remarks>
    /// Behaviour matches Python's <c>json.loads</c>, which produces what it reads: whitespace around
    /// values, no trailing commas, no comments, no unescaped control characters inside strings,
    /// <c>\uXXXX</c> escapes (surrogate pairs joined), a repeated key keeps its last value, and the
    /// non-standard literals <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> that Python writes by default.
    /// Nesting is limited to <see cref="MaxDepth"/> levels so a hostile message cannot overflow the stack.
    /// </remarks>
    public static class JsonReader
    {
        /// <summary>Deepest nesting of arrays and objects accepted.</summary>
        public const int MaxDepth = 64;

        private static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);

        /// <summary>Parse UTF-8 bytes (no byte-order mark, as Python writes) into a value.</summary>
        /// <exception cref="JsonParseException">not UTF-8, or not JSON.</exception>
        public static JsonValue Parse(byte[] utf8)
        {
            if (utf8 == null)
            {
                throw new ArgumentNullException("utf8");
            }
            string text;
            try
            {
                text = StrictUtf8.GetString(utf8);
            }
            catch (DecoderFallbackException)
            {
                throw new JsonParseException("bytes are not valid UTF-8", 0);
            }
            return Parse(text);
        }

        /// <summary>Parse JSON text into a value.</summary>
        /// <exception cref="JsonParseException">not JSON; the message says what and where.</exception>
        public static JsonValue Parse(string text)
        {
            if (text == null)
            {
                throw new ArgumentNullException("text");
            }
            var p = new Parser(text);
            p.SkipWhitespace();
            JsonValue value = p.ReadValue(0);
            p.SkipWhitespace();
            if (!p.AtEnd)
            {
                throw new JsonParseException("extra data after the JSON value", p.Pos);
            }
            return value;
        }

        private sealed class Parser
        {
            private readonly string _s;
            internal int Pos;

            internal Parser(string s)
            {
                _s = s;
                Pos = 0;
            }

            internal bool AtEnd
            {
                get { return Pos >= _s.Length; }
            }

            internal void SkipWhitespace()
            {
                while (Pos < _s.Length)
                {
                    char c = _s[Pos];
                    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                    {
                        Pos++;
                    }
                    else
                    {
                        break;
                    }
                }
            }

            internal JsonValue ReadValue(int depth)
            {
                if (AtEnd)
                {
                    throw new JsonParseException("unexpected end of text, expected a value", Pos);
                }
                char c = _s[Pos];
                switch (c)
                {
                    case '{':
                        return ReadObject(depth + 1);
                    case '[':
                        return ReadArray(depth + 1);
                    case '"':
                        return new JsonString(ReadString());
                    case 't':
                        Expect("true");
                        return JsonBool.True;
                    case 'f':
                        Expect("false");
                        return JsonBool.False;
                    case 'n':
                        Expect("null");
                        return JsonValue.Null;
                    case 'N':
                        Expect("NaN");
                        return new JsonNumber("NaN");
                    case 'I':
                        Expect("Infinity");
                        return new JsonNumber("Infinity");
                    default:
                        if (c == '-' || (c >= '0' && c <= '9'))
                        {
                            return ReadNumber();
                        }
                        throw new JsonParseException("unexpected character '" + Printable(c) + "', expected a value", Pos);
                }
            }

            private void Expect(string literal)
            {
                if (string.CompareOrdinal(_s, Pos, literal, 0, literal.Length) != 0)
                {
                    throw new JsonParseException("invalid literal, expected '" + literal + "'", Pos);
                }
                Pos += literal.Length;
            }

            private JsonObject ReadObject(int depth)
            {
                CheckDepth(depth);
                Pos++; // '{'
                var obj = new JsonObject();
                SkipWhitespace();
                if (Pos < _s.Length && _s[Pos] == '}')
                {
                    Pos++;
                    return obj;
                }
                while (true)
                {
                    SkipWhitespace();
                    if (AtEnd || _s[Pos] != '"')
                    {
                        throw new JsonParseException("expected a string key in double quotes", Pos);
                    }
                    string key = ReadString();
                    SkipWhitespace();
                    if (AtEnd || _s[Pos] != ':')
                    {
                        throw new JsonParseException("expected ':' after the key \"" + key + "\"", Pos);
                    }
                    Pos++;
                    SkipWhitespace();
                    obj.Set(key, ReadValue(depth));
                    SkipWhitespace();
                    if (AtEnd)
                    {
                        throw new JsonParseException("unexpected end of text inside an object", Pos);
                    }
                    char c = _s[Pos++];
                    if (c == '}')
                    {
                        return obj;
                    }
                    if (c != ',')
                    {
                        throw new JsonParseException("expected ',' or '}' in an object", Pos - 1);
                    }
                }
            }

            private JsonArray ReadArray(int depth)
            {
                CheckDepth(depth);
                Pos++; // '['
                var arr = new JsonArray();
                SkipWhitespace();
                if (Pos < _s.Length && _s[Pos] == ']')
                {
                    Pos++;
                    return arr;
                }
                while (true)
                {
                    SkipWhitespace();
                    arr.Add(ReadValue(depth));
                    SkipWhitespace();
                    if (AtEnd)
                    {
                        throw new JsonParseException("unexpected end of text inside an array", Pos);
                    }
                    char c = _s[Pos++];
                    if (c == ']')
                    {
                        return arr;
                    }
                    if (c != ',')
                    {
                        throw new JsonParseException("expected ',' or ']' in an array", Pos - 1);
                    }
                }
            }

            private void CheckDepth(int depth)
            {
                if (depth > MaxDepth)
                {
                    throw new JsonParseException("nesting deeper than " + MaxDepth.ToString(CultureInfo.InvariantCulture) + " levels", Pos);
                }
            }

            private string ReadString()
            {
                int start = Pos;
                Pos++; // opening quote
                StringBuilder sb = null;
                int runStart = Pos;
                while (true)
                {
                    if (AtEnd)
                    {
                        throw new JsonParseException("unterminated string", start);
                    }
                    char c = _s[Pos];
                    if (c == '"')
                    {
                        string tail = _s.Substring(runStart, Pos - runStart);
                        Pos++;
                        if (sb == null)
                        {
                            return tail;
                        }
                        sb.Append(tail);
                        return sb.ToString();
                    }
                    if (c < 0x20)
                    {
                        throw new JsonParseException("control character U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) + " inside a string must be escaped", Pos);
                    }
                    if (c != '\\')
                    {
                        Pos++;
                        continue;
                    }
                    if (sb == null)
                    {
                        sb = new StringBuilder();
                    }
                    sb.Append(_s, runStart, Pos - runStart);
                    Pos++; // backslash
                    if (AtEnd)
                    {
                        throw new JsonParseException("unterminated escape", Pos);
                    }
                    char e = _s[Pos++];
                    switch (e)
                    {
                        case '"': sb.Append('"'); break;
                        case '\\': sb.Append('\\'); break;
                        case '/': sb.Append('/'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u': sb.Append(ReadHex4()); break;
                        default:
                            throw new JsonParseException("invalid escape '\\" + Printable(e) + "'", Pos - 2);
                    }
                    runStart = Pos;
                }
            }

            private char ReadHex4()
            {
                if (Pos + 4 > _s.Length)
                {
                    throw new JsonParseException("truncated \\u escape", Pos);
                }
                int v = 0;
                for (int i = 0; i < 4; i++)
                {
                    char h = _s[Pos + i];
                    int d;
                    if (h >= '0' && h <= '9') d = h - '0';
                    else if (h >= 'a' && h <= 'f') d = h - 'a' + 10;
                    else if (h >= 'A' && h <= 'F') d = h - 'A' + 10;
                    else throw new JsonParseException("invalid hex digit in \\u escape", Pos + i);
                    v = (v << 4) | d;
                }
                Pos += 4;
                return (char)v; // surrogate pairs arrive as two escapes and join naturally in UTF-16
            }

            private JsonValue ReadNumber()
            {
                int start = Pos;
                if (_s[Pos] == '-')
                {
                    Pos++;
                    if (Pos < _s.Length && _s[Pos] == 'I')
                    {
                        Expect("Infinity");
                        return new JsonNumber("-Infinity");
                    }
                }
                if (AtEnd || !IsDigit(_s[Pos]))
                {
                    throw new JsonParseException("invalid number: a digit must follow '-'", Pos);
                }
                if (_s[Pos] == '0')
                {
                    Pos++;
                    if (Pos < _s.Length && IsDigit(_s[Pos]))
                    {
                        throw new JsonParseException("invalid number: leading zero", start);
                    }
                }
                else
                {
                    while (Pos < _s.Length && IsDigit(_s[Pos])) Pos++;
                }
                if (Pos < _s.Length && _s[Pos] == '.')
                {
                    Pos++;
                    if (AtEnd || !IsDigit(_s[Pos]))
                    {
                        throw new JsonParseException("invalid number: a digit must follow '.'", Pos);
                    }
                    while (Pos < _s.Length && IsDigit(_s[Pos])) Pos++;
                }
                if (Pos < _s.Length && (_s[Pos] == 'e' || _s[Pos] == 'E'))
                {
                    Pos++;
                    if (Pos < _s.Length && (_s[Pos] == '+' || _s[Pos] == '-')) Pos++;
                    if (AtEnd || !IsDigit(_s[Pos]))
                    {
                        throw new JsonParseException("invalid number: a digit must follow the exponent", Pos);
                    }
                    while (Pos < _s.Length && IsDigit(_s[Pos])) Pos++;
                }
                return new JsonNumber(_s.Substring(start, Pos - start));
            }

            private static bool IsDigit(char c)
            {
                return c >= '0' && c <= '9';
            }

            private static string Printable(char c)
            {
                return c < 0x20 || c > 0x7E ? "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) : c.ToString();
            }
        }
    }
}
