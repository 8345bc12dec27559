// Times the protocol layer on one packed message: decode + validate + type (MessageParser.Parse) and building the
// view (OverlayPresenter.Present), for benchmarks/bench_unity_protocol.py. Usage: mono ProtocolBench.exe FILE [N]
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Presentation;
using Sonoguide.Protocol.Wire;

public static class ProtocolBench
{
    public static int Main(string[] args)
    {
        var frames = FramePacking.Unpack(File.ReadAllBytes(args[0]));
        int n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500;
        OverlayMessage overlay = null;
        for (int i = 0; i < 50; i++) overlay = (OverlayMessage)MessageParser.Parse(frames); // warm-up (JIT)
        var decode = new double[n];
        var present = new double[n];
        var sw = new Stopwatch();
        for (int i = 0; i < n; i++)
        {
            sw.Restart();
            overlay = (OverlayMessage)MessageParser.Parse(frames);
            decode[i] = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var view = OverlayPresenter.Present(overlay, OverlayFreshness.Evaluate(overlay, overlay.TCaptureNs, true, true), overlay.TCaptureNs);
            present[i] = sw.Elapsed.TotalMilliseconds;
            if (view.Structures.Count != overlay.Structures.Count) return 1;
        }
        Array.Sort(decode);
        Array.Sort(present);
        long bytes = 0;
        foreach (var f in frames) bytes += f.Length;
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "{{\"bytes\": {0}, \"n\": {1}, \"decode_p50_ms\": {2:F4}, \"decode_p95_ms\": {3:F4}, \"present_p50_ms\": {4:F4}, \"present_p95_ms\": {5:F4}",
            bytes, n, decode[n / 2], decode[n * 95 / 100], present[n / 2], present[n * 95 / 100]) + "}");
        return 0;
    }
}
