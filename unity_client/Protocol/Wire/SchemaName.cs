using System;
using System.Globalization;

namespace Sonoguide.Protocol.Wire
{
    /// <summary>
    /// A parsed schema string <c>"sonoguide.&lt;kind&gt;/&lt;version&gt;"</c> (PROTOCOL.md, "Message framing", header field <c>schema</c>).
    /// </summary>
    public struct SchemaName
    {
        /// <summary>The prefix every schema starts with.</summary>
        public const string Prefix = "sonoguide.";

        /// <summary>The kind, e.g. <c>overlay</c>.</summary>
        public string Kind { get; }

        /// <summary>The version; -1 when the text after '/' is not an integer.</summary>
        public int Version { get; }

        private SchemaName(string kind, int version)
        {
            Kind = kind;
            Version = version;
        }

        /// <summary>Parse a schema string the way <c>ar_bridge/schema.py</c> checks it.</summary>
        /// <exception cref="ProtocolException">does not start with <c>sonoguide.</c> or has no '/'.</exception>
        public static SchemaName Parse(string schema)
        {
            if (schema == null || !schema.StartsWith(Prefix, StringComparison.Ordinal) || schema.IndexOf('/') < 0)
            {
                throw new ProtocolException("schema '" + schema + "' is not 'sonoguide.<kind>/<version>'");
            }
            int slash = schema.LastIndexOf('/');
            string kind = schema.Substring(Prefix.Length, slash - Prefix.Length);
            int version;
            if (!int.TryParse(schema.Substring(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out version))
            {
                version = -1;
            }
            return new SchemaName(kind, version);
        }

        /// <summary>Format <c>sonoguide.&lt;kind&gt;/&lt;version&gt;</c>.</summary>
        public static string Format(string kind, int version)
        {
            return Prefix + kind + "/" + version.ToString(CultureInfo.InvariantCulture);
        }

        /// <inheritdoc />
        public override string ToString()
        {
            return Format(Kind, Version);
        }
    }
}
