// A small NUnit-attribute test runner for Mono, so the Unity package's EditMode tests
// (unity_client/Tests/Editor) run here without Unity. It finds [TestFixture] classes by
// reflection, runs [Test], [TestCase(...)] and [TestCaseSource("member")] methods with
// [SetUp]/[TearDown], and writes one JSON line per test plus a summary.
//
// Usage: mono MonoTestRunner.exe TESTS.dll [--json results.json] [--filter substring]
using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Text;
using NUnit.Framework;

public static class MonoTestRunner
{
    private sealed class Result
    {
        public string Name;
        public string Outcome; // passed, failed, skipped
        public string Message;
        public double Ms;
    }

    public static int Main(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: MonoTestRunner.exe TESTS.dll [--json results.json] [--filter text]");
            return 2;
        }
        string assemblyPath = args[0];
        string jsonPath = null, filter = null;
        for (int i = 1; i < args.Length - 1; i++)
        {
            if (args[i] == "--json") jsonPath = args[++i];
            else if (args[i] == "--filter") filter = args[++i];
        }
        var assembly = Assembly.LoadFrom(assemblyPath);
        var results = new List<Result>();
        foreach (var type in assembly.GetTypes())
        {
            if (!type.IsClass || type.IsAbstract || type.GetCustomAttributes(typeof(TestFixtureAttribute), true).Length == 0)
            {
                continue;
            }
            RunFixture(type, filter, results);
        }
        int failed = 0, passed = 0, skipped = 0;
        foreach (var r in results)
        {
            if (r.Outcome == "failed") failed++;
            else if (r.Outcome == "passed") passed++;
            else skipped++;
            Console.WriteLine("{0} {1}{2}", r.Outcome.ToUpperInvariant(), r.Name, r.Message == null ? "" : ": " + FirstLine(r.Message));
        }
        Console.WriteLine("{0} passed, {1} failed, {2} skipped", passed, failed, skipped);
        if (jsonPath != null)
        {
            WriteJson(jsonPath, results);
        }
        return failed == 0 && results.Count > 0 ? 0 : 1;
    }

    private static void RunFixture(Type type, string filter, List<Result> results)
    {
        object fixture;
        try
        {
            fixture = Activator.CreateInstance(type);
        }
        catch (Exception exc)
        {
            results.Add(new Result { Name = type.FullName, Outcome = "failed", Message = "fixture construction failed: " + exc });
            return;
        }
        var setUps = MethodsWith(type, typeof(SetUpAttribute));
        var tearDowns = MethodsWith(type, typeof(TearDownAttribute));
        foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance))
        {
            foreach (var testCase in Cases(type, method))
            {
                string name = type.Name + "." + method.Name + testCase.Key;
                if (filter != null && name.IndexOf(filter, StringComparison.Ordinal) < 0)
                {
                    continue;
                }
                results.Add(RunOne(fixture, name, method, testCase.Value, setUps, tearDowns));
            }
        }
    }

    private static List<MethodInfo> MethodsWith(Type type, Type attribute)
    {
        var list = new List<MethodInfo>();
        foreach (var m in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance))
        {
            if (m.GetCustomAttributes(attribute, true).Length > 0) list.Add(m);
        }
        return list;
    }

    private static IEnumerable<KeyValuePair<string, object[]>> Cases(Type type, MethodInfo method)
    {
        if (method.GetCustomAttributes(typeof(TestAttribute), true).Length > 0)
        {
            yield return new KeyValuePair<string, object[]>("", new object[0]);
        }
        foreach (TestCaseAttribute tc in method.GetCustomAttributes(typeof(TestCaseAttribute), true))
        {
            object[] a = tc.Arguments ?? new object[0];
            yield return new KeyValuePair<string, object[]>(ArgsText(a), Coerce(method, a));
        }
        foreach (TestCaseSourceAttribute src in method.GetCustomAttributes(typeof(TestCaseSourceAttribute), true))
        {
            foreach (var item in SourceItems(type, src.SourceName))
            {
                object[] a = item as object[] ?? new[] { item };
                yield return new KeyValuePair<string, object[]>(ArgsText(a), Coerce(method, a));
            }
        }
    }

    private static IEnumerable SourceItems(Type type, string member)
    {
        const BindingFlags any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static;
        var m = type.GetMethod(member, any, null, Type.EmptyTypes, null);
        if (m != null) return (IEnumerable)m.Invoke(null, null);
        var p = type.GetProperty(member, any);
        if (p != null) return (IEnumerable)p.GetValue(null, null);
        var f = type.GetField(member, any);
        if (f != null) return (IEnumerable)f.GetValue(null);
        throw new InvalidOperationException("TestCaseSource member '" + member + "' not found on " + type.FullName);
    }

    // NUnit converts attribute arguments to the parameter types (e.g. int literal to long/double).
    private static object[] Coerce(MethodInfo method, object[] args)
    {
        var ps = method.GetParameters();
        var result = new object[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            object a = args[i];
            if (a != null && i < ps.Length && ps[i].ParameterType != a.GetType() && a is IConvertible && ps[i].ParameterType.IsPrimitive)
            {
                a = Convert.ChangeType(a, ps[i].ParameterType, CultureInfo.InvariantCulture);
            }
            result[i] = a;
        }
        return result;
    }

    private static string ArgsText(object[] args)
    {
        var parts = new string[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            object a = args[i];
            parts[i] = a == null ? "null" : a is string ? "\"" + Escape((string)a) + "\"" : Convert.ToString(a, CultureInfo.InvariantCulture);
        }
        return "(" + string.Join(",", parts) + ")";
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s)
        {
            if (c == '\n') sb.Append("\\n");
            else if (c == '\t') sb.Append("\\t");
            else if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static Result RunOne(object fixture, string name, MethodInfo method, object[] args, List<MethodInfo> setUps, List<MethodInfo> tearDowns)
    {
        var sw = Stopwatch.StartNew();
        var r = new Result { Name = name, Outcome = "passed" };
        try
        {
            foreach (var s in setUps) s.Invoke(fixture, null);
            try
            {
                method.Invoke(fixture, args);
            }
            finally
            {
                foreach (var t in tearDowns) t.Invoke(fixture, null);
            }
        }
        catch (Exception exc)
        {
            Exception e = exc;
            while (e is TargetInvocationException && e.InnerException != null) e = e.InnerException;
            if (e is SuccessException)
            {
                r.Outcome = "passed";
            }
            else if (e is IgnoreException || e is InconclusiveException)
            {
                r.Outcome = "skipped";
                r.Message = e.Message;
            }
            else
            {
                r.Outcome = "failed";
                r.Message = e is AssertionException ? e.Message.Trim() : e.GetType().Name + ": " + e.Message + "\n" + e.StackTrace;
            }
        }
        r.Ms = sw.Elapsed.TotalMilliseconds;
        return r;
    }

    private static string FirstLine(string s)
    {
        int n = s.IndexOf('\n');
        return n < 0 ? s : s.Substring(0, n);
    }

    private static void WriteJson(string path, List<Result> results)
    {
        var sb = new StringBuilder();
        sb.Append("[\n");
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            sb.Append("{\"name\":").Append(Quote(r.Name))
              .Append(",\"outcome\":").Append(Quote(r.Outcome))
              .Append(",\"message\":").Append(r.Message == null ? "null" : Quote(r.Message))
              .Append(",\"ms\":").Append(r.Ms.ToString("F3", CultureInfo.InvariantCulture)).Append('}')
              .Append(i + 1 < results.Count ? ",\n" : "\n");
        }
        sb.Append("]\n");
        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
    }

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s)
        {
            if (c == '"' || c == '\\') sb.Append('\\').Append(c);
            else if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.Append('"').ToString();
    }
}
