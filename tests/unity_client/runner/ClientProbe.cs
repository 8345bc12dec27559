// Drives the Unity package's engine-free client (SonoguideSession over LibZmqTransport) against a
// real core, for tests/unity_client/test_client_over_zeromq.py. Reads commands on stdin, one per line:
//   send <command>     queue a control command          audio <n>   send n 20 ms chunks of a 440 Hz tone
//   report             print a status report             quit        stop and exit
// and prints one JSON object per line on stdout for every event (link, message, overlay, reply, error, report).
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using Sonoguide.Protocol;
using Sonoguide.Protocol.Audio;
using Sonoguide.Protocol.Client;
using Sonoguide.Protocol.Json;
using Sonoguide.Protocol.Messages;
using Sonoguide.Protocol.Pairing;
using Sonoguide.Protocol.Presentation;

public static class ClientProbe
{
    private static readonly object Out = new object();

    private static void Emit(JsonObject o)
    {
        lock (Out)
        {
            Console.Out.WriteLine(JsonWriter.Write(o));
            Console.Out.Flush();
        }
    }

    private static JsonObject Event(string kind)
    {
        return new JsonObject().Set("event", JsonValue.From(kind));
    }

    public static int Main(string[] args)
    {
        var options = new ClientOptions();
        string bundlePath = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--data": options.DataEndpoint = args[i + 1]; break;
                case "--control": options.ControlEndpoint = args[i + 1]; break;
                case "--audio": options.AudioEndpoint = args[i + 1]; break;
                case "--bundle": bundlePath = args[i + 1]; break;
                case "--heartbeat-ms": options.HeartbeatPeriodMs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--grace-ms": options.ConnectGraceMs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--control-timeout-ms": options.ControlTimeoutMs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine("unknown option " + args[i]); return 2;
            }
        }
        if (bundlePath != null)
        {
            try
            {
                var bundle = PairingBundle.Load(bundlePath);
                options.Keys = bundle.Keys;
                options.DataEndpoint = bundle.PubEndpoint;
                options.ControlEndpoint = bundle.ControlEndpoint;
            }
            catch (ProtocolException exc)
            {
                Emit(Event("fatal").Set("reason", JsonValue.From(exc.Message)));
                return 1;
            }
        }

        var commands = new BlockingCollection<string>();
        var reader = new Thread(() =>
        {
            string line;
            while ((line = Console.In.ReadLine()) != null) commands.Add(line.Trim());
            commands.Add("quit");
        }) { IsBackground = true };
        reader.Start();

        using (var transport = new LibZmqTransport())
        {
            var session = new SonoguideSession(transport, options);
            session.LinkChanged += (state, detail) => Emit(Event("link").Set("state", JsonValue.From(state.ToString())).Set("detail", JsonValue.From(detail)));
            session.ErrorReported += reason => Emit(Event("error").Set("reason", JsonValue.From(reason)));
            session.Noticed += text => Emit(Event("notice").Set("text", JsonValue.From(text)));
            session.ReplyReceived += (request, reply) => Emit(Event("reply")
                .Set("id", JsonValue.From(request.Id)).Set("command", JsonValue.From(request.Command))
                .Set("ok", JsonValue.From(reply.Ok)).Set("status", JsonValue.From(reply.Status)).Set("intent", JsonValue.From(reply.Intent))
                .Set("error", JsonValue.From(reply.Error)).Set("timed_out", JsonValue.From(reply.TimedOut))
                .Set("state_version", reply.State == null ? JsonValue.Null : JsonValue.From(session.State == null ? -1 : session.State.Version)));
            session.MessageReceived += m =>
            {
                var o = m as OverlayMessage;
                if (o != null)
                {
                    var view = session.Present();
                    var nerve = view.Structures.Count > 0 && view.Structures[0].Points != null ? view.Structures[0].Points[0] : default(Sonoguide.Protocol.Geometry.Point3d);
                    Emit(Event("overlay").Set("seq", JsonValue.From(o.Seq)).Set("frame_seq", JsonValue.From(o.FrameSeq))
                        .Set("frozen", JsonValue.From(o.Frozen)).Set("placed", JsonValue.From(view.Placed))
                        .Set("current", JsonValue.From(view.Freshness.IsCurrent)).Set("reason", JsonValue.From(view.Freshness.Reason.ToString()))
                        .Set("structures", JsonValue.From((long)view.Structures.Count))
                        .Set("nerve0", new JsonArray().Add(JsonValue.From(nerve.X)).Add(JsonValue.From(nerve.Y)).Add(JsonValue.From(nerve.Z)))
                        .Set("proximity", JsonValue.From(view.ProximityLabel)));
                    return;
                }
                var e = Event("message").Set("topic", JsonValue.From(m.Topic)).Set("seq", JsonValue.From(m.Seq));
                var s = m as StateMessage;
                if (s != null)
                {
                    e.Set("version", JsonValue.From(s.Version)).Set("frozen", JsonValue.From(s.Frozen))
                     .Set("pending", JsonValue.From(s.PendingConfirmation)).Set("tracking", JsonValue.From(s.Tracking));
                }
                var hb = m as HeartbeatMessage;
                if (hb != null)
                {
                    e.Set("control", JsonValue.From(hb.Control)).Set("clock_origin_ns", JsonValue.From(hb.ClockOriginNs))
                     .Set("clock_steps", JsonValue.From(hb.ClockSteps));
                }
                var v = m as VoiceMessage;
                if (v != null)
                {
                    e.Set("decision", JsonValue.From(v.Decision)).Set("intent", JsonValue.From(v.Intent));
                }
                Emit(e);
            };
            session.Start();
            var encoder = new AudioStreamEncoder();
            var resampler = new StreamingResampler(48000, 16000);
            long toneSample = 0;
            bool running = true;
            while (running)
            {
                string cmd;
                if (commands.TryTake(out cmd, 10))
                {
                    if (cmd == "quit")
                    {
                        running = false;
                    }
                    else if (cmd.StartsWith("send ", StringComparison.Ordinal))
                    {
                        var request = session.Send(cmd.Substring(5));
                        Emit(Event("sent").Set("id", JsonValue.From(request.Id)).Set("command", JsonValue.From(request.Command)));
                    }
                    else if (cmd.StartsWith("audio ", StringComparison.Ordinal))
                    {
                        int n = int.Parse(cmd.Substring(6), CultureInfo.InvariantCulture);
                        int sent = 0;
                        while (sent < n)
                        {
                            var chunk = new float[960]; // 20 ms at 48 kHz
                            for (int i = 0; i < chunk.Length; i++, toneSample++) chunk[i] = (float)(0.5 * Math.Sin(2 * Math.PI * 440 * toneSample / 48000.0));
                            var pcm = Pcm16.FromFloat(resampler.Process(chunk));
                            if (pcm.Length < 320) continue; // the resampler's first chunk is shorter by its filter delay
                            long host = session.HostClockKnown ? session.HostNowNs() : 0;
                            session.Worker.SendAudio(encoder.Encode(pcm, host, host));
                            sent++;
                        }
                        Emit(Event("audio_sent").Set("chunks", JsonValue.From((long)n)));
                    }
                    else if (cmd == "report")
                    {
                        var w = session.Worker;
                        var hud = new JsonArray();
                        foreach (var line in session.Hud()) hud.Add(JsonValue.From(line.ToString()));
                        var verdict = session.Freshness();
                        Emit(Event("report").Set("link", JsonValue.From(session.LinkState.ToString()))
                            .Set("received", JsonValue.From(w.Received)).Set("overlays", JsonValue.From(w.Overlays))
                            .Set("lost", JsonValue.From(w.Lost)).Set("decode_errors", JsonValue.From(w.DecodeErrors))
                            .Set("reconnects", JsonValue.From(w.Reconnects)).Set("host_clock_known", JsonValue.From(session.HostClockKnown))
                            .Set("heartbeat_period_ms", JsonValue.From(w.Link.PeriodNs / 1e6))
                            .Set("overlay_current", JsonValue.From(verdict.IsCurrent)).Set("overlay_reason", JsonValue.From(verdict.Reason.ToString()))
                            .Set("state_version", session.State == null ? JsonValue.Null : JsonValue.From(session.State.Version))
                            .Set("dropped_audio", JsonValue.From(w.DroppedAudio))
                            .Set("hud", hud));
                    }
                }
                session.Update();
            }
            session.Stop();
        }
        Emit(Event("exit"));
        return 0;
    }
}
