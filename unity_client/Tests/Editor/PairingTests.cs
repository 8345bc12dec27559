using System;
using System.IO;
using NUnit.Framework;
using Sonoguide.Protocol.Pairing;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>Z85 keys (ZeroMQ RFC 32) and the pairing bundle of <c>sonoguide pair</c> (PROTOCOL.md, "Security").</summary>
    [TestFixture]
    public class PairingTests
    {
        private static readonly byte[] A = Key(1), B = Key(2), C = Key(3);

        private static byte[] Key(int seed)
        {
            var k = new byte[32];
            new Random(seed).NextBytes(k);
            return k;
        }

        private static string Bundle(string clientPublic = null, string endpoint = "tcp://192.168.1.20:5556", bool withName = true)
        {
            return "{\n  \"name\": " + (withName ? "\"hl2-theatre-3\"" : "null") + ",\n"
                   + "  \"client_public\": \"" + (clientPublic ?? Z85.Encode(A)) + "\",\n"
                   + "  \"client_secret\": \"" + Z85.Encode(B) + "\",\n"
                   + "  \"server_public\": \"" + Z85.Encode(C) + "\",\n"
                   + "  \"pub_endpoint\": \"" + endpoint + "\",\n"
                   + "  \"control_endpoint\": \"tcp://192.168.1.20:5557\"\n}\n";
        }

        [Test]
        public void Z85MatchesTheRfcTestVector()
        {
            var bytes = new byte[] { 0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B };
            Assert.AreEqual("HelloWorld", Z85.Encode(bytes));
            CollectionAssert.AreEqual(bytes, Z85.Decode("HelloWorld"));
        }

        [Test]
        public void Z85RoundTripsKeysAndRefusesBadText()
        {
            string text = Z85.Encode(A);
            Assert.AreEqual(40, text.Length);
            CollectionAssert.AreEqual(A, Z85.Decode(text));
            Assert.Throws<FormatException>(() => Z85.Decode("abcd"));
            Assert.Throws<FormatException>(() => Z85.Decode("abc d"));
            Assert.Throws<FormatException>(() => Z85.Decode("#####"), "above 2^32 - 1");
            Assert.Throws<ArgumentException>(() => Z85.Encode(new byte[3]));
        }

        [Test]
        public void ReadsAValidBundle()
        {
            var b = PairingBundle.Parse(Bundle());
            Assert.AreEqual("hl2-theatre-3", b.Name);
            Assert.AreEqual("tcp://192.168.1.20:5556", b.PubEndpoint);
            Assert.AreEqual("tcp://192.168.1.20:5557", b.ControlEndpoint);
            CollectionAssert.AreEqual(A, b.Keys.ClientPublic);
            CollectionAssert.AreEqual(B, b.Keys.ClientSecret);
            CollectionAssert.AreEqual(C, b.Keys.ServerPublic);
        }

        [Test]
        public void RefusesBrokenBundlesWithTheFix()
        {
            StringAssert.Contains("'name' missing", Assert.Throws<ProtocolException>(() => PairingBundle.Parse(Bundle(withName: false))).Message);
            StringAssert.Contains("sonoguide pair", Assert.Throws<ProtocolException>(() => PairingBundle.Parse(Bundle(withName: false))).Message);
            StringAssert.Contains("40-character Z85", Assert.Throws<ProtocolException>(() => PairingBundle.Parse(Bundle("short"))).Message);
            StringAssert.Contains("is not Z85", Assert.Throws<ProtocolException>(() => PairingBundle.Parse(Bundle(new string(' ', 40)))).Message);
            StringAssert.Contains("not a ZeroMQ endpoint", Assert.Throws<ProtocolException>(() => PairingBundle.Parse(Bundle(endpoint: "192.168.1.20:5556"))).Message);
            StringAssert.Contains("not JSON", Assert.Throws<ProtocolException>(() => PairingBundle.Parse("{")).Message);
        }

        [Test]
        public void TellsBindAddressesFromConnectableOnes()
        {
            Assert.IsTrue(PairingBundle.IsConnectable("tcp://192.168.1.20:5556"));
            Assert.IsTrue(PairingBundle.IsConnectable("tcp://core.local:5556"));
            Assert.IsTrue(PairingBundle.IsConnectable("ipc:///tmp/sonoguide"));
            Assert.IsFalse(PairingBundle.IsConnectable("tcp://*:5556"));
            Assert.IsFalse(PairingBundle.IsConnectable("tcp://0.0.0.0:5556"));
            Assert.IsFalse(PairingBundle.IsConnectable("tcp://[::]:5556"));
        }

        [Test]
        public void LoadsFromAFileAndNamesAMissingOne()
        {
            string path = Path.Combine(Path.GetTempPath(), "sonoguide-bundle-" + Guid.NewGuid().ToString("N") + ".json");
            File.WriteAllText(path, Bundle());
            try
            {
                Assert.AreEqual("hl2-theatre-3", PairingBundle.Load(path).Name);
            }
            finally
            {
                File.Delete(path);
            }
            var exc = Assert.Throws<ProtocolException>(() => PairingBundle.Load(path));
            StringAssert.Contains("cannot read the pairing bundle", exc.Message);
        }
    }
}
