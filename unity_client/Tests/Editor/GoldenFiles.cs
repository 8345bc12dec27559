using System;
using System.Collections.Generic;
using System.IO;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Wire;

namespace Sonoguide.Protocol.Tests
{
    /// <summary>
    /// Finds and reads the golden message files in <c>Tests/Golden</c> (PROTOCOL.md, "Golden files"):
    /// <c>&lt;name&gt;.frames</c> (the message as sent) and <c>&lt;name&gt;.expected.json</c> (what must be decoded from it).
    /// </summary>
    /// <remarks>
    /// Lookup order: the <c>SONOGUIDE_GOLDEN_DIR</c> environment variable; in the Unity Editor, the package's resolved path;
    /// then <c>Packages/org.sonoguide.client/Tests/Golden</c>, <c>Library/PackageCache/org.sonoguide.client*/Tests/Golden</c>
    /// and <c>unity_client/Tests/Golden</c> relative to the working folder and its parents.
    /// </remarks>
    public static class GoldenFiles
    {
        /// <summary>Environment variable that points at the golden folder.</summary>
        public const string EnvironmentVariable = "SONOGUIDE_GOLDEN_DIR";

        /// <summary>The golden messages the core writes today (<c>sonoguide/golden.py</c>).</summary>
        public static readonly string[] KnownNames = { "heartbeat", "overlay", "overlay_frozen", "overlay_pose_lost", "state", "voice", "voice_rejected" };

        private static string _cached;

        /// <summary>The golden folder, or null when it cannot be found.</summary>
        public static string Directory
        {
            get
            {
                if (_cached == null)
                {
                    _cached = Locate();
                }
                return _cached;
            }
        }

        /// <summary>The folder, or an exception that says how to point at it.</summary>
        public static string RequireDirectory()
        {
            string dir = Directory;
            if (dir == null)
            {
                throw new DirectoryNotFoundException("golden folder not found; set " + EnvironmentVariable + " to unity_client/Tests/Golden");
            }
            return dir;
        }

        /// <summary>Names of every golden message present (the <c>*.frames</c> files), sorted.</summary>
        public static IEnumerable<string> Names()
        {
            return NamesBetween("", ".frames");
        }

        /// <summary>The sorted names <c>X</c> of the golden files <c>prefix + X + suffix</c> (none without a folder).</summary>
        private static List<string> NamesBetween(string prefix, string suffix)
        {
            var names = new List<string>();
            string dir = Directory;
            if (dir != null)
            {
                foreach (var path in System.IO.Directory.GetFiles(dir, prefix + "*" + suffix))
                {
                    string file = Path.GetFileName(path);
                    names.Add(file.Substring(prefix.Length, file.Length - prefix.Length - suffix.Length));
                }
            }
            names.Sort(StringComparer.Ordinal);
            return names;
        }

        /// <summary>The frames of golden message <paramref name="name"/>.</summary>
        public static List<byte[]> Frames(string name)
        {
            return FramePacking.Unpack(File.ReadAllBytes(Path.Combine(RequireDirectory(), name + ".frames")));
        }

        /// <summary>Names of the golden control exchanges (<c>control_&lt;name&gt;.request.json</c> and <c>.reply.json</c>).</summary>
        public static IEnumerable<string> ControlNames()
        {
            return NamesBetween("control_", ".request.json");
        }

        /// <summary>The frames of a golden message the headset sends (<c>&lt;name&gt;.upstream</c>, e.g. <c>audio</c>).</summary>
        public static List<byte[]> Upstream(string name)
        {
            return FramePacking.Unpack(File.ReadAllBytes(Path.Combine(RequireDirectory(), name + ".upstream")));
        }

        /// <summary>The request frame of a golden control exchange, as a client sends it.</summary>
        public static byte[] ControlRequest(string name)
        {
            return File.ReadAllBytes(Path.Combine(RequireDirectory(), "control_" + name + ".request.json"));
        }

        /// <summary>The reply frame of a golden control exchange, as the core's control server sent it.</summary>
        public static byte[] ControlReply(string name)
        {
            return File.ReadAllBytes(Path.Combine(RequireDirectory(), "control_" + name + ".reply.json"));
        }

        /// <summary>The expectation of golden message <paramref name="name"/>.</summary>
        public static JsonObject Expected(string name)
        {
            var text = File.ReadAllText(Path.Combine(RequireDirectory(), name + ".expected.json"));
            return (JsonObject)JsonReader.Parse(text);
        }

        private static string Locate()
        {
            string env = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrEmpty(env) && System.IO.Directory.Exists(env))
            {
                return Path.GetFullPath(env);
            }
#if UNITY_EDITOR
            var info = UnityEditor.PackageManager.PackageInfo.FindForAssembly(typeof(GoldenFiles).Assembly);
            if (info != null)
            {
                string inPackage = Path.Combine(info.resolvedPath, "Tests", "Golden");
                if (System.IO.Directory.Exists(inPackage))
                {
                    return inPackage;
                }
            }
#endif
            string dir = System.IO.Directory.GetCurrentDirectory();
            for (int up = 0; up < 6 && dir != null; up++)
            {
                foreach (var candidate in Candidates(dir))
                {
                    if (System.IO.Directory.Exists(candidate))
                    {
                        return Path.GetFullPath(candidate);
                    }
                }
                dir = Path.GetDirectoryName(dir);
            }
            return null;
        }

        private static IEnumerable<string> Candidates(string root)
        {
            yield return Path.Combine(root, "Packages", "org.sonoguide.client", "Tests", "Golden");
            string cache = Path.Combine(root, "Library", "PackageCache");
            if (System.IO.Directory.Exists(cache))
            {
                foreach (var d in System.IO.Directory.GetDirectories(cache, "org.sonoguide.client*"))
                {
                    yield return Path.Combine(d, "Tests", "Golden");
                }
            }
            yield return Path.Combine(root, "unity_client", "Tests", "Golden");
            yield return Path.Combine(root, "Tests", "Golden");
        }
    }
}
