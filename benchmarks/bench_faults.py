"""Fault figures: control-channel fuzzing, a stalled subscriber, a core restart, a live revocation.

Four parts, each through real sockets (loopback only) and, where it names the core, the real
``sonoguide demo`` in its own process:

1. ``fuzz``: N hostile control messages (random bytes and text, random JSON, nesting thousands of
   brackets deep, integers of thousands of digits, wrong types for ``id``/``command``, overlong
   strings, valid commands, several frames, no envelope delimiter) from a DEALER to a real
   :class:`~ar_bridge.control.ControlServer` whose handler is the real
   :class:`~sonoguide.state.CommandProcessor` (bundled English command set, confirmation gate;
   actions that would write files are no-ops). Generated with a seeded ``random.Random``, so a
   run is repeatable. Every request must get one well-formed reply (a JSON object with ``id`` and
   a boolean ``ok``, a non-empty ``error`` string when ``ok`` is false) and the server must stay
   ``up`` with no restart. A few messages over 256 KiB (which ZeroMQ drops together with the
   connection, unanswered) go on separate sockets and are counted apart.
2. ``stall``: the core (``sonoguide demo``, voice off); a healthy subscriber here counts overlays,
   a second subscriber process is stopped (SIGSTOP) for 10 s; the core's RSS before and at the end
   of the stall, and the healthy overlay rate before and during it. Again with ``sndhwm = 1000``
   (the old default) to show what the small high-water mark buys.
3. ``restart``: a subscriber stays connected; the core is SIGKILLed and started again on the same
   endpoints; the first heartbeat's ``uptime_s`` and the wall time from the restart to it.
4. ``revoke``: CurveZMQ with two paired headsets on a Publisher + ControlServer; one is unpaired
   while both receive; how long the revoked one still received, whether anything published more
   than 1 s after the revocation reached it, that the other kept receiving, and how soon a
   headset paired while running receives its first message.

Usage::

    .venv/bin/python benchmarks/bench_faults.py [--only fuzz|stall|restart|revoke] [--fuzz-n 100000]
                                                [--seed 1] [--json]

Prints one markdown table per part; with ``--json`` the last line is one JSON object with every
figure. Every process it starts is killed at the end, also on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import zmq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ar_bridge.schema import decode  # noqa: E402

EXE = str(Path(sys.executable).with_name("sonoguide"))
PROCS: list[subprocess.Popen] = []
"""Every process this script started (each in its own session); killed in :func:`_kill_all`."""


def _ep() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def _kill(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole session: the core's children too
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def _kill_all() -> None:
    for p in PROCS:
        _kill(p)


def _spawn(cmd: list[str], out: Path | None = None) -> subprocess.Popen:
    fh = out.open("w") if out is not None else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO)
    PROCS.append(p)
    if out is not None:
        fh.close()
    return p


# ======================================================================================= 1. fuzz
INTENT_WORDS = ["freeze", "unfreeze", "show nerve", "hide nerve", "show vessel", "hide vessel", "show needle",
                "hide needle", "show all", "hide all", "snapshot", "start recording", "stop recording", "confirm",
                "cancel", "ping", "get_state", "get_stats", "fly", "", " ", "FREEZE", "  Hide   ALL  "]
_CHARS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,:;!?"
          "[]{}\"'\\/\n\r\t\x00\x01\x1b\x7f" "éüßøЖж中文한국어\u200b\u2028\ufeff\uffff" "\U0001f600\U0010ffff")


class Fuzzer:
    """Seeded generator of hostile control messages: ``(category, frames, expectation)``.

    ``frames`` is what the DEALER sends (with or without the empty delimiter); ``expectation``
    is a function of the parsed reply returning an error text when the reply contradicts the
    contract for this input (``None`` when it is consistent).
    """

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.n = 0
        self.kinds: list[tuple[str, float, Callable[[], tuple[list[bytes], Callable | None]]]] = [
            ("random_bytes", 10, self.random_bytes),
            ("random_text", 8, self.random_text),
            ("random_json", 10, self.random_json),
            ("wrong_types", 14, self.wrong_types),
            ("valid_command", 16, self.valid_command),
            ("deep_open", 5, self.deep_open),
            ("deep_balanced", 5, self.deep_balanced),
            ("brackets_in_string", 3, self.brackets_in_string),
            ("huge_int", 6, self.huge_int),
            ("odd_numbers", 3, self.odd_numbers),
            ("overlong_string", 6, self.overlong_string),
            ("over_64k", 0.3, self.over_64k),
            ("multi_frame", 6, self.multi_frame),
            ("no_delimiter", 4, self.no_delimiter),
            ("empty", 1, self.empty),
            ("truncated", 3, self.truncated),
        ]
        self._names = [k[0] for k in self.kinds]
        self._weights = [k[1] for k in self.kinds]
        self._fns = {k[0]: k[2] for k in self.kinds}

    def next(self) -> tuple[str, list[bytes], Callable | None]:
        self.n += 1
        kind = self.r.choices(self._names, self._weights)[0]
        frames, expect = self._fns[kind]()
        return kind, frames, expect

    # .............................................................. building blocks
    def text(self, n: int) -> str:
        return "".join(self.r.choices(_CHARS, k=n))

    def value(self, depth: int = 0) -> Any:
        r = self.r
        k = r.randrange(8 if depth < 4 else 6)
        if k == 0:
            return None
        if k == 1:
            return r.random() < 0.5
        if k == 2:
            return r.choice([0, -1, 1, 2**31, -2**63, 2**63 - 1, 2**63, 2**64, r.randint(-10**30, 10**30)])
        if k == 3:
            return r.choice([0.0, -0.0, 1e308, -1e-308, r.uniform(-1e9, 1e9)])
        if k in (4, 5):
            return self.text(r.randrange(0, 24))
        if k == 6:
            return [self.value(depth + 1) for _ in range(r.randrange(0, 5))]
        return {self.text(r.randrange(0, 8)): self.value(depth + 1) for _ in range(r.randrange(0, 5))}

    def dumps(self, obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=self.r.random() < 0.5).encode("utf-8", "surrogatepass")

    def rid(self) -> str | int:
        return f"f{self.n}" if self.r.random() < 0.6 else self.n

    # .............................................................. categories
    def random_bytes(self):
        return [b"", self.r.randbytes(self.r.randrange(0, 600))], None

    def random_text(self):
        return [b"", self.text(self.r.randrange(0, 300)).encode("utf-8", "surrogatepass")], None

    def random_json(self):
        return [b"", self.dumps(self.value())], None

    def wrong_types(self):
        r = self.r
        ids = [None, True, False, 1.5, [], {}, [1], {"a": 1}, 2**63, -2**63 - 1, "i" * r.randrange(129, 400),
               "", "ok", 7, self.value(), self.text(r.randrange(0, 140))]
        cmds = [None, True, 1, 1.0, [], {}, ["freeze"], {"freeze": 1}, "", "   ", "\t\n",
                r.choice(INTENT_WORDS), self.value(), self.text(r.randrange(0, 300))]
        obj: dict[str, Any] = {}
        if r.random() < 0.9:
            obj["id"] = r.choice(ids)
        if r.random() < 0.9:
            obj["command"] = r.choice(cmds)
        if r.random() < 0.3:
            obj[self.text(5)] = self.value()
        return [b"", self.dumps(obj)], None

    def valid_command(self):
        r = self.r
        rid = self.rid()
        cmd = r.choice(INTENT_WORDS[:-3] if r.random() < 0.9 else INTENT_WORDS)
        if cmd.strip() and r.random() < 0.3:
            cmd = "  " + " ".join(w.upper() if r.random() < 0.5 else w for w in cmd.split()) + " \t"
        obj: dict[str, Any] = {"id": rid, "command": cmd}
        if r.random() < 0.2:
            obj["extra"] = self.value()
        delim = [b""] if r.random() < 0.85 else []
        valid = bool(cmd.strip())

        def expect(reply: dict) -> str | None:
            if valid and reply["id"] != rid:
                return f"id {reply['id']!r} echoed for id {rid!r}"
            if valid and reply["ok"] is False and "internal error" in reply["error"]:
                return "internal error"
            return None
        return [*delim, json.dumps(obj).encode()], expect

    def deep_open(self):
        r = self.r
        n = r.randrange(17, 5001)
        opener = r.choice([b"[", b"{\"a\":", b"[{\"k\":"])
        body = opener * n
        if r.random() < 0.5:
            body = b'{"id": 1, "command": "freeze", "x": ' + body
        return [b"", body], _refused_with("nests")

    def deep_balanced(self):
        r = self.r
        n = r.randrange(1, 3001)
        inner = b"[" * n + b"]" * n if r.random() < 0.5 else b'{"a":' * n + b"1" + b"}" * n
        body = b'{"id": 1, "command": "freeze", "x": ' + inner + b"}"
        # total depth = n + 1 (the object itself); at most 16 passes
        deep = n + 1 > 16

        def expect(reply: dict) -> str | None:
            if deep:
                return _refused_with("nests")(reply)
            if reply["ok"] is False and "nests" in reply["error"]:
                return f"depth {n + 1} refused"
            return None
        return [b"", body], expect

    def brackets_in_string(self):
        r = self.r
        n = r.randrange(17, 4000)
        s = "".join(r.choice("[{") for _ in range(n))
        if r.random() < 0.5:
            s = '\\"' + s  # an escaped quote before the brackets: still inside the string
        body = ('{"id": "s", "command": "ping", "note": "' + s + '"}').encode()

        def expect(reply: dict) -> str | None:
            if reply["ok"] is not True:
                return f"refused: {reply.get('error')}"
            return None
        return [b"", body], expect

    def huge_int(self):
        r = self.r
        n = r.randrange(1000, 6001)
        digits = r.choice("123456789") + "".join(r.choices("0123456789", k=n - 1))
        sign = "-" if r.random() < 0.3 else ""
        where = r.randrange(3)
        if where == 0:
            body = f'{{"id": {sign}{digits}, "command": "freeze"}}'
        elif where == 1:
            body = f'{{"id": "h", "command": {sign}{digits}}}'
        else:
            body = f'{{"id": "h", "command": "ping", "n": {sign}{digits}}}'
        body_b = body.encode()

        def expect(reply: dict) -> str | None:
            if where == 0 and reply["ok"] is not False:
                return "a huge integer id was accepted"
            if where == 1 and reply["ok"] is not False:
                return "a numeric command was accepted"
            if where == 2 and n <= 4300 and reply["ok"] is not True:
                return f"a valid request with a {n}-digit field was refused: {reply.get('error')}"
            return None
        return [b"", body_b], expect

    def odd_numbers(self):
        r = self.r
        lit = r.choice(["NaN", "Infinity", "-Infinity", "1e99999", "-1e-99999", "1" + "0" * 400 + ".5",
                        "0.000000001", "9223372036854775808", "-9223372036854775809", "9223372036854775807",
                        "1.0", "true", "null", "[]", "{}", '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"'])
        key = r.choice(["id", "command", "x"])
        obj = {"id": '"o"', "command": '"freeze"', "x": "0"}
        obj[key] = lit
        body = "{" + ", ".join(f'"{k}": {v}' for k, v in obj.items()) + "}"
        return [b"", body.encode()], None

    def overlong_string(self):
        r = self.r
        which = r.randrange(3)
        if which == 0:
            n = r.randrange(129, 20000)
            body, frag = json.dumps({"id": "x" * n, "command": "freeze"}), "'id'"
        elif which == 1:
            n = r.randrange(257, 60000)
            body, frag = json.dumps({"id": 5, "command": "c" * n}), "limit is 256"
        else:
            n = r.randrange(1000, 60000)
            body, frag = json.dumps({"id": 5, "command": "ping", "pad": "p" * n}), None
        if frag is None:
            return [b"", body.encode()], lambda rep: None if rep["ok"] is True else f"refused: {rep.get('error')}"
        return [b"", body.encode()], _refused_with(frag)

    def over_64k(self):
        n = self.r.randrange(64 * 1024 + 1, 256 * 1024 - 64)
        body = b'{"id": 9, "command": "' + b"x" * n + b'"}'
        return [b"", body], _refused_with("bytes")

    def multi_frame(self):
        r = self.r
        first = self.dumps({"id": self.rid(), "command": r.choice(INTENT_WORDS)})
        extra = [r.randbytes(r.randrange(0, 40)) for _ in range(r.randrange(1, 4))]
        return [b"", first, *extra], _refused_with("frame")

    def no_delimiter(self):
        r = self.r
        payload = r.choice([self.dumps({"id": self.rid(), "command": r.choice(INTENT_WORDS)}),
                            r.randbytes(r.randrange(1, 100)), b"x"])
        if payload == b"":
            payload = b"x"
        return [payload], None

    def empty(self):
        return [b""], _refused_with("frame")  # the delimiter alone: zero body frames

    def truncated(self):
        r = self.r
        full = self.dumps({"id": self.rid(), "command": r.choice(INTENT_WORDS), "x": self.value()})
        return [b"", full[:r.randrange(0, max(1, len(full) - 1))]], None


def _refused_with(fragment: str) -> Callable[[dict], str | None]:
    def expect(reply: dict) -> str | None:
        if reply["ok"] is not False:
            return "accepted"
        if fragment not in reply["error"]:
            return f"error {reply['error'][:80]!r} lacks {fragment!r}"
        return None
    return expect


def _well_formed(frames: list[bytes], delimited: bool) -> tuple[dict | None, str | None]:
    """The parsed reply, or why it is malformed."""
    if delimited:
        if len(frames) != 2 or frames[0] != b"":
            return None, f"envelope {len(frames)} frames, first {frames[0][:10]!r}"
    elif len(frames) != 1:
        return None, f"envelope {len(frames)} frames"
    try:
        reply = json.loads(frames[-1])
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(reply, dict):
        return None, "not an object"
    if "id" not in reply or not isinstance(reply.get("ok"), bool):
        return None, f"keys {sorted(reply)} / ok {reply.get('ok')!r}"
    if reply["ok"] is False and not (isinstance(reply.get("error"), str) and reply["error"]):
        return None, "ok false without an error string"
    return reply, None


def _command_handler():
    """The real command processor, as the core's control handler uses it (file actions are no-ops)."""
    from sonoguide.routing import handle_control
    from sonoguide.state import CommandProcessor
    from voice.commandset import bundled_command_set_path, load_command_set
    from voice.confirm import ConfirmationGate

    gate = ConfirmationGate(load_command_set(bundled_command_set_path("en")), 5.0)
    commands = CommandProcessor(gate, actions={"snapshot": lambda: None, "start recording": lambda: None,
                                               "stop recording": lambda: None})

    def handle(req):
        return handle_control(commands, req)[0]
    return handle


class _Errors(logging.Handler):
    """Counts ERROR records (``log.exception`` in the server: a handler or socket-loop failure)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage()[:200])


def run_fuzz(n: int, seed: int, window: int = 32, reply_timeout_s: float = 10.0, oversize: int = 8) -> dict:
    from tqdm import tqdm

    from ar_bridge.control import MAX_WIRE_BYTES, ControlServer

    errors = _Errors()
    logging.getLogger("ar_bridge").addHandler(errors)
    ep = _ep()
    ctx = zmq.Context()
    server = ControlServer(ep, _command_handler(), context=ctx)
    server.start()
    fz = Fuzzer(seed)
    by_kind: collections.Counter[str] = collections.Counter()
    replies = well_formed = missing = ok_true = 0
    malformed: list[dict] = []
    unexpected: list[dict] = []
    unexpected_n = 0
    missing_examples: list[dict] = []
    status_bad: list[str] = []
    big_socks: list[tuple[zmq.Socket, int]] = []
    big_at = {int(n * (i + 1) / (oversize + 1)) for i in range(oversize)}
    big_sizes = [MAX_WIRE_BYTES + 1, MAX_WIRE_BYTES + 100, 1 << 20, 4 << 20, 10 << 20, 300 * 1024, 2 << 20, 512 * 1024]

    def new_dealer() -> zmq.Socket:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SNDHWM, 0)
        s.setsockopt(zmq.RCVHWM, 0)
        s.connect(ep)
        return s

    sock = new_dealer()
    pending: collections.deque = collections.deque()
    sent = 0
    bar = tqdm(total=n, file=sys.stderr, unit="msg", mininterval=0.5, desc="fuzz", dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        while sent < n or pending:
            while sent < n and len(pending) < window:
                kind, frames, expect = fz.next()
                sock.send_multipart(frames)
                sent += 1
                by_kind[kind] += 1
                pending.append((kind, frames, expect))
                if sent in big_at:  # an oversize message on its own connection, while the fuzz runs
                    size = big_sizes[len(big_socks) % len(big_sizes)]
                    b = new_dealer()
                    b.send_multipart([b"", b'{"id": 1, "command": "' + b"x" * size + b'"}'])
                    big_socks.append((b, size))
            if not sock.poll(int(reply_timeout_s * 1000)):
                missing += len(pending)
                for kind, frames, _ in list(pending)[:3]:
                    missing_examples.append({"kind": kind, "frames": [f[:200].hex() for f in frames],
                                             "sizes": [len(f) for f in frames]})
                pending.clear()
                sock.close(linger=0)
                sock = new_dealer()
                continue
            rframes = sock.recv_multipart()
            kind, frames, expect = pending.popleft()
            replies += 1
            bar.update(1)
            reply, why = _well_formed(rframes, delimited=frames[0] == b"")
            if reply is None:
                if len(malformed) < 10:
                    malformed.append({"kind": kind, "why": why, "request": frames[-1][:200].hex(),
                                      "reply": rframes[-1][:300].decode("utf-8", "replace")})
                else:
                    malformed.append({})  # counted, not kept
                continue
            well_formed += 1
            ok_true += reply["ok"]
            if expect is not None:
                problem = expect(reply)
                if problem:
                    unexpected_n += 1
                    if len(unexpected) < 10:
                        unexpected.append({"kind": kind, "problem": problem, "sizes": [len(f) for f in frames],
                                           "request_head": frames[-1][:160].decode("utf-8", "replace"),
                                           "reply": json.dumps(reply)[:300]})
            if replies % 1000 == 0 and (server.status != "up" or server.restarts) and len(status_bad) < 10:
                status_bad.append(f"after {replies}: status {server.status}, restarts {server.restarts}")
        wall = time.perf_counter() - t0
        bar.close()
        # the oversize connections: nothing may come back
        big_replies = 0
        deadline = time.monotonic() + 2.0
        for b, _ in big_socks:
            if b.poll(max(0, int((deadline - time.monotonic()) * 1000))):
                big_replies += 1
        for b, _ in big_socks:
            b.close(linger=0)
        # the channel still answers after all of it
        probe = new_dealer()
        probe.send_multipart([b"", b'{"id": "after", "command": "ping"}'])
        after_ok = bool(probe.poll(5000)) and json.loads(probe.recv_multipart()[-1]) == {"id": "after", "ok": True}
        probe.close(linger=0)
        final_status, final_restarts = server.status, server.restarts
    finally:
        bar.close()
        sock.close(linger=0)
        server.stop()
        ctx.term()
        logging.getLogger("ar_bridge").removeHandler(errors)
    crashes = missing + (final_status != "up") + final_restarts + len(status_bad)
    return {
        "seed": seed, "sent": sent, "replies": replies, "well_formed": well_formed,
        "malformed": len(malformed), "malformed_examples": [m for m in malformed if m][:10],
        "ok_true": ok_true, "missing_replies": missing, "missing_examples": missing_examples,
        "contract_violations": unexpected_n, "contract_examples": unexpected,
        "server_status": final_status, "server_restarts": final_restarts, "status_checks_bad": status_bad,
        "error_log_records": len(errors.records), "error_log_examples": errors.records[:5],
        "crashes": crashes, "served_after": after_ok,
        "oversize_sent": len(big_socks), "oversize_sizes": [s for _, s in big_socks], "oversize_replies": big_replies,
        "msgs_per_s": replies / wall if wall > 0 else 0.0, "wall_s": wall, "window": window,
        "by_kind": dict(sorted(by_kind.items())),
    }


# ======================================================================================= core helpers
def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _start_core(tmp: Path, config: Path, pub: str, control: str, tag: str) -> tuple[subprocess.Popen, Path]:
    log = tmp / f"core-{tag}-{time.monotonic_ns()}.log"
    return _spawn([EXE, "demo", "--no-status", "--pub", pub, "--control", control, "--config", str(config)], log), log


def _sub(ctx: zmq.Context, endpoint: str, *topics: bytes) -> zmq.Socket:
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVHWM, 100000)
    for t in topics:
        s.setsockopt(zmq.SUBSCRIBE, t)
    s.connect(endpoint)
    return s


def _wait_topic(sub: zmq.Socket, topic: str, timeout: float, proc: subprocess.Popen | None = None,
                log: Path | None = None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-1500:] if log is not None and log.exists() else ""
            raise RuntimeError(f"the core exited with {proc.returncode}:\n{tail}")
        if sub.poll(50):
            m = decode(sub.recv_multipart())
            if m.topic == topic:
                return m, time.monotonic()
    raise RuntimeError(f"no {topic} within {timeout} s")


def _collect(sub: zmq.Socket, seconds: float, on_tick: Callable[[], None] | None = None,
             tick_s: float = 0.5) -> list[tuple[float, Any]]:
    out: list[tuple[float, Any]] = []
    end = time.monotonic() + seconds
    next_tick = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if on_tick is not None and now >= next_tick:
            on_tick()
            next_tick += tick_s
        if sub.poll(max(1, min(20, int((end - now) * 1000)))):
            out.append((time.monotonic(), decode(sub.recv_multipart())))
    return out


def _overlay_figures(msgs: list[tuple[float, Any]], seconds: float) -> dict:
    ov = [m for _, m in msgs if m.topic == "overlay"]
    seqs = [m.seq for m in ov]
    gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if b != a + 1)
    lat = sorted((m.t_publish_ns - m.t_capture_ns) / 1e6 for m in ov)
    return {"overlays": len(ov), "hz": len(ov) / seconds, "seq_gaps": gaps,
            "latency_p50_ms": lat[len(lat) // 2] if lat else None}


# ======================================================================================= 2. stall
_STALLED = textwrap.dedent("""
    import sys, zmq
    s = zmq.Context.instance().socket(zmq.SUB)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.setsockopt(zmq.RCVHWM, 10)
    s.connect(sys.argv[1])
    while True:
        s.recv_multipart()
""")


def run_stall(tmp: Path, sndhwm: int | None, stall_s: float = 10.0, before_s: float = 4.0,
              settle_s: float = 5.0) -> dict:
    cfg = tmp / f"stall-{sndhwm or 'default'}.toml"
    cfg.write_text("[voice]\nenabled = false\n" + (f"[network]\nsndhwm = {sndhwm}\n" if sndhwm else ""))
    pub, ctl = _ep(), _ep()
    ctx = zmq.Context()
    core = stalled = None
    try:
        watch = _sub(ctx, pub, b"overlay", b"heartbeat")
        core, log = _start_core(tmp, cfg, pub, ctl, "stall")
        t_start = time.monotonic()
        _wait_topic(watch, "overlay", 120, core, log)
        startup_s = time.monotonic() - t_start
        _collect(watch, settle_s)  # model warm-up
        stalled = _spawn([sys.executable, "-c", _STALLED, pub])
        _collect(watch, 2.0)  # the stalled subscriber connects and receives
        before = _collect(watch, before_s)
        rss_before = _rss_mb(core.pid)
        samples: list[tuple[float, float]] = []
        t_stop = time.monotonic()
        os.kill(stalled.pid, signal.SIGSTOP)
        during = _collect(watch, stall_s,
                          on_tick=lambda: samples.append((time.monotonic() - t_stop, _rss_mb(core.pid))))
        rss_end = _rss_mb(core.pid)
        samples.append((time.monotonic() - t_stop, rss_end))
        os.kill(stalled.pid, signal.SIGCONT)
        fb, fd = _overlay_figures(before, before_s), _overlay_figures(during, stall_s)
        hb_during = [m for _, m in during if m.topic == "heartbeat"]
        core_hz = {k: statistics.fmean(m.body["overlay_hz"] for _, m in msgs if m.topic == "heartbeat")
                   for k, msgs in (("before", before), ("during", during))}
        rss_half = next(v for t, v in samples if t >= stall_s / 2)
        watch.close()
    finally:
        _kill(stalled)
        _kill(core)
        ctx.term()
    return {
        "sndhwm": sndhwm or 32, "core_startup_s": startup_s, "stall_s": stall_s,
        "rss_before_mb": rss_before, "rss_end_mb": rss_end, "rss_max_during_mb": max(v for _, v in samples),
        "rss_change_pct": 100.0 * (rss_end - rss_before) / rss_before,
        "rss_mid_stall_mb": rss_half, "rss_growth_second_half_mb": rss_end - rss_half,
        "rss_samples": [(round(t, 2), round(v, 1)) for t, v in samples],
        "core_overlay_hz_before": core_hz["before"], "core_overlay_hz_during": core_hz["during"],
        "overlay_hz_before": fb["hz"], "overlay_hz_during": fd["hz"],
        "overlay_rate_change_pct": 100.0 * (fd["hz"] - fb["hz"]) / fb["hz"] if fb["hz"] else None,
        "seq_gaps_before": fb["seq_gaps"], "seq_gaps_during": fd["seq_gaps"],
        "latency_p50_before_ms": fb["latency_p50_ms"], "latency_p50_during_ms": fd["latency_p50_ms"],
        "heartbeats_during": len(hb_during),
    }


# ======================================================================================= 3. restart
def run_restart(tmp: Path, runs: int = 3) -> dict:
    cfg = tmp / "restart.toml"
    cfg.write_text("[voice]\nenabled = false\n")
    pub, ctl = _ep(), _ep()
    ctx = zmq.Context()
    core = None
    out: list[dict] = []
    try:
        sub = _sub(ctx, pub, b"heartbeat")  # connected before the first core binds, and throughout
        core, log = _start_core(tmp, cfg, pub, ctl, "restart0")
        _wait_topic(sub, "heartbeat", 120, core, log)
        _collect(sub, 1.0)
        for i in range(runs):
            last_seq = None
            for _, m in _collect(sub, 0.3):
                last_seq = m.seq
            os.killpg(core.pid, signal.SIGKILL)
            core.wait(10)
            _collect(sub, 0.5)  # drain what the killed core left in the pipe
            t0 = time.monotonic()
            core, log = _start_core(tmp, cfg, pub, ctl, f"restart{i + 1}")
            m, t1 = _wait_topic(sub, "heartbeat", 120, core, log)
            out.append({"uptime_s": m.body["uptime_s"], "restart_to_first_s": t1 - t0, "seq": m.seq,
                        "seq_before_kill": last_seq})
            _collect(sub, 1.0)
        sub.close()
    finally:
        _kill(core)
        ctx.term()
    ups = [r["uptime_s"] for r in out]
    return {"runs": out, "uptime_s_max": max(ups), "uptime_s_median": statistics.median(ups),
            "restart_to_first_s_median": statistics.median(r["restart_to_first_s"] for r in out)}


# ======================================================================================= 4. revoke
def _curve_client(ctx: zmq.Context, kind: int, bundle) -> zmq.Socket:
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_publickey = bundle.client_public.encode()
    s.curve_secretkey = bundle.client_secret.encode()
    s.curve_serverkey = bundle.server_public.encode()
    return s


def _handshake_events(mon: zmq.Socket) -> list[str]:
    from zmq.utils.monitor import recv_monitor_message

    out = []
    while mon.poll(0):
        ev = recv_monitor_message(mon)["event"]
        try:
            out.append(zmq.Event(ev).name)
        except ValueError:
            out.append(str(ev))
    return out


def _late_headset(cctx: zmq.Context, curve: Path, name: str, pub_ep: str, ctl_ep: str, delay_s: float,
                  wait_s: float, socks: list) -> dict:
    """Pair ``name`` while the core runs, connect ``delay_s`` later; time to its first message."""
    from ar_bridge.security import pair_headset

    t_pair = time.monotonic()
    bundle = pair_headset(curve, name, pub_ep, ctl_ep)
    time.sleep(delay_s)
    s = _curve_client(cctx, zmq.SUB, bundle)
    s.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
    mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                               | zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_DISCONNECTED)
    socks.extend([s, mon])
    t_conn = time.monotonic()
    s.connect(pub_ep)
    got = s.poll(int(wait_s * 1000))
    t_got = time.monotonic()
    r = {"connect_delay_s": delay_s, "received": bool(got),
         "pair_to_first_msg_s": t_got - t_pair if got else None,
         "connect_to_first_msg_s": t_got - t_conn if got else None,
         "events": _handshake_events(mon)}
    rq = _curve_client(cctx, zmq.REQ, bundle)
    socks.append(rq)
    rq.connect(ctl_ep)
    t0 = time.monotonic()
    rq.send(b'{"id": 3, "command": "freeze"}')
    r["control_reply_s"] = time.monotonic() - t0 if rq.poll(int(wait_s * 1000)) and json.loads(rq.recv())["ok"] \
        else None
    return r


def run_revoke(tmp: Path, run: int = 0, hb_hz: float = 50.0, after_s: float = 3.0) -> dict:
    from ar_bridge.config import NetworkConfig
    from ar_bridge.control import ControlServer
    from ar_bridge.publisher import Publisher
    from ar_bridge.security import RELOAD_PERIOD_S, CurveSecurity, pair_headset, unpair_headset

    curve = tmp / f"curve{run}"
    pub_ep, ctl_ep = _ep(), _ep()
    keep = pair_headset(curve, "keep", pub_ep, ctl_ep)
    gone = pair_headset(curve, "gone", pub_ep, ctl_ep)
    sctx, cctx = zmq.Context(), zmq.Context()  # core and headsets: as in separate processes
    parts: dict[str, Any] = {}

    def on_revoked(names: set[str]) -> None:
        parts["t_on_revoked_ns"] = time.time_ns()
        parts["pub"].rebind()
        parts["ctl"].rebind()

    sec = CurveSecurity(curve, sctx, on_revoked=on_revoked)
    cfg = NetworkConfig(pub_endpoint=pub_ep, control_endpoint=ctl_ep, heartbeat_hz=hb_hz)
    pub = parts["pub"] = Publisher(cfg, context=sctx, socket_setup=sec.setup)
    ctl = parts["ctl"] = ControlServer(ctl_ep, lambda r: {"ok": True, "status": "executed"}, context=sctx,
                                       socket_setup=sec.setup)
    socks: list[zmq.Socket] = []
    try:
        pub.start()
        ctl.start()
        subs = {}
        for name, bundle in (("keep", keep), ("gone", gone)):
            s = _curve_client(cctx, zmq.SUB, bundle)
            s.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
            s.connect(pub_ep)
            subs[name] = s
            socks.append(s)
        gone_mon = subs["gone"].get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                                                   | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED)
        socks.append(gone_mon)
        for name, s in subs.items():
            if not s.poll(5000):
                raise RuntimeError(f"paired headset {name} received nothing")
        got: dict[str, list[tuple[int, int]]] = {"keep": [], "gone": []}
        poller = zmq.Poller()
        for s in subs.values():
            poller.register(s, zmq.POLLIN)

        def pump(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for s, _ in poller.poll(10):
                    name = "keep" if s is subs["keep"] else "gone"
                    m = decode(s.recv_multipart())
                    got[name].append((m.t_publish_ns, time.time_ns()))

        pump(1.0)  # both receive; then one is revoked
        _handshake_events(gone_mon)
        n_before = {k: len(v) for k, v in got.items()}
        t_rev = time.time_ns()
        unpair_headset(curve, "gone")
        pump(after_s)
        gone_events = _handshake_events(gone_mon)
        after = {k: v[n_before[k]:] for k, v in got.items()}
        gone_pub = [tp for tp, _ in got["gone"]]
        keep_pub = [tp for tp, _ in after["keep"]]
        keep_recv = [tr for _, tr in got["keep"] if tr >= t_rev]
        r: dict[str, Any] = {
            "heartbeat_hz": hb_hz, "window_after_s": after_s, "reload_period_s": RELOAD_PERIOD_S,
            "unpair_to_rebind_ms": (parts["t_on_revoked_ns"] - t_rev) / 1e6 if "t_on_revoked_ns" in parts else None,
            # by t_publish_ns; negative: the last message it got was published before the unpair call
            "revoked_last_msg_after_unpair_ms": (max(gone_pub) - t_rev) / 1e6 if gone_pub else None,
            "revoked_msgs_after_unpair": len(after["gone"]),
            "revoked_msgs_published_after_1s": sum(tp > t_rev + 1_000_000_000 for tp in gone_pub),
            "revoked_msgs_published_after_0_5s": sum(tp > t_rev + 500_000_000 for tp in gone_pub),
            "revoked_socket_events": gone_events,
            "kept_msgs_after_unpair": len(keep_pub),
            "kept_msgs_published_after_1s": sum(tp > t_rev + 1_000_000_000 for tp in keep_pub),
            "kept_max_gap_ms": max((b - a for a, b in zip(keep_recv, keep_recv[1:])), default=0) / 1e6,
        }
        # control: the revoked headset gets no reply; the kept one does
        rq = _curve_client(cctx, zmq.REQ, gone)
        socks.append(rq)
        rq.connect(ctl_ep)
        rq.send(b'{"id": 1, "command": "freeze"}')
        r["revoked_control_replied"] = bool(rq.poll(1500))
        rk = _curve_client(cctx, zmq.REQ, keep)
        socks.append(rk)
        rk.connect(ctl_ep)
        t0 = time.monotonic()
        rk.send(b'{"id": 2, "command": "freeze"}')
        r["kept_control_ok"] = bool(rk.poll(5000)) and json.loads(rk.recv())["ok"] is True
        r["kept_control_s"] = time.monotonic() - t0
        # headsets paired while running: connecting just after the allow-list re-read (the pairing
        # bundle takes longer than that to reach a real headset), and connecting at once
        r["late_pair"] = _late_headset(cctx, curve, "late", pub_ep, ctl_ep, RELOAD_PERIOD_S + 0.05, 5.0, socks)
        r["late_pair_immediate"] = _late_headset(cctx, curve, "early", pub_ep, ctl_ep, 0.0, 3.0, socks)
        r["paired_at_end"] = list(sec.paired)
    finally:
        for s in socks:
            s.close(linger=0)
        ctl.stop()
        pub.stop()
        sec.stop()
        cctx.term()
        sctx.term()
    return r


def run_revokes(tmp: Path, runs: int) -> dict:
    rs = [run_revoke(tmp, i) for i in range(runs)]
    last = [x["revoked_last_msg_after_unpair_ms"] for x in rs if x["revoked_last_msg_after_unpair_ms"] is not None]
    late = [x["late_pair"]["pair_to_first_msg_s"] for x in rs]
    return {"runs": rs,
            "revoked_last_msg_after_unpair_ms_max": max(last) if last else None,
            "revoked_msgs_published_after_1s_total": sum(x["revoked_msgs_published_after_1s"] for x in rs),
            "revoked_control_replied_any": any(x["revoked_control_replied"] for x in rs),
            "kept_receiving_all": all(x["kept_msgs_published_after_1s"] > 0 and x["kept_control_ok"] for x in rs),
            "late_pair_first_msg_s_max": None if None in late else max(late),
            "late_pair_immediate_admitted": sum(x["late_pair_immediate"]["received"] for x in rs)}


# ======================================================================================= report
def _f(v: Any, fmt: str = ".1f") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format(v, fmt)
    return str(v)


def print_fuzz(r: dict) -> None:
    print(f"\n### Control fuzz (seed {r['seed']}, window {r['window']} in flight)\n")
    print("| sent | replies | well-formed | ok:true | contract violations | missing replies | crashes | "
          "oversize sent / replies | msg/s | wall |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {r['sent']} | {r['replies']} | {r['well_formed']} | {r['ok_true']} | {r['contract_violations']} | "
          f"{r['missing_replies']} | {r['crashes']} | {r['oversize_sent']} / {r['oversize_replies']} | "
          f"{r['msgs_per_s']:.0f} | {r['wall_s']:.1f} s |")
    print(f"\nserver status {r['server_status']}, restarts {r['server_restarts']}, error log records "
          f"{r['error_log_records']}, answers a ping afterwards: {_f(r['served_after'])}")
    print("messages by kind: " + ", ".join(f"{k} {v}" for k, v in r["by_kind"].items()))
    for key in ("malformed_examples", "contract_examples", "missing_examples", "error_log_examples"):
        if r[key]:
            print(f"{key}:")
            for e in r[key]:
                print(f"  {json.dumps(e)[:400]}")


def print_stall(rows: list[dict]) -> None:
    print("\n### Stalled subscriber (SIGSTOP) against the real core\n")
    print("| sndhwm | stall | RSS before | RSS end | change | growth in 2nd half | overlay Hz before | during | "
          "change | core's own Hz before / during | seq gaps (healthy) during | heartbeats during |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sndhwm']} | {r['stall_s']:.0f} s | {r['rss_before_mb']:.1f} MB | {r['rss_end_mb']:.1f} MB | "
              f"{r['rss_change_pct']:+.1f} % | {r['rss_growth_second_half_mb']:+.1f} MB | "
              f"{r['overlay_hz_before']:.1f} | {r['overlay_hz_during']:.1f} | "
              f"{_f(r['overlay_rate_change_pct'], '+.1f')} % | {r['core_overlay_hz_before']:.1f} / "
              f"{r['core_overlay_hz_during']:.1f} | {r['seq_gaps_during']} | {r['heartbeats_during']} |")


def print_restart(r: dict) -> None:
    print("\n### Core SIGKILLed and restarted under a connected subscriber\n")
    print("| run | first heartbeat uptime_s | restart → first message | first seq |")
    print("|---|---|---|---|")
    for i, x in enumerate(r["runs"], 1):
        print(f"| {i} | {x['uptime_s']:.3f} | {x['restart_to_first_s']:.2f} s | {x['seq']} |")


def print_revoke(r: dict) -> None:
    hz = r["runs"][0]["heartbeat_hz"]
    print(f"\n### Live revocation (CurveZMQ, heartbeat {hz:.0f} Hz, one of two headsets unpaired)\n")
    print("| run | unpair → rebind | revoked: last msg (t_publish) after unpair | msgs after unpair | "
          "published > 1 s after | revoked command answered | kept: msgs after / published > 1 s after | "
          "kept max gap | kept command ok | paired while running (connects +0.25 s): pair → first msg | "
          "its first reply | connecting at once: admitted |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i, x in enumerate(r["runs"], 1):
        lp, li = x["late_pair"], x["late_pair_immediate"]
        print(f"| {i} | {_f(x['unpair_to_rebind_ms'])} ms | {_f(x['revoked_last_msg_after_unpair_ms'])} ms | "
              f"{x['revoked_msgs_after_unpair']} | {x['revoked_msgs_published_after_1s']} | "
              f"{_f(x['revoked_control_replied'])} | {x['kept_msgs_after_unpair']} / "
              f"{x['kept_msgs_published_after_1s']} | {x['kept_max_gap_ms']:.0f} ms | {_f(x['kept_control_ok'])} | "
              f"{_f(lp['pair_to_first_msg_s'], '.3f')} s | {_f(lp['control_reply_s'], '.3f')} s | "
              f"{_f(li['received'])} ({', '.join(li['events']) or 'no events'}) |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["fuzz", "stall", "restart", "revoke"], help="run one part only")
    ap.add_argument("--fuzz-n", type=int, default=100_000, help="fuzzed control messages (default 100000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the fuzz generator")
    ap.add_argument("--stall-s", type=float, default=10.0, help="how long the subscriber is stopped")
    ap.add_argument("--restart-runs", type=int, default=3)
    ap.add_argument("--revoke-runs", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args()
    if min(args.fuzz_n, args.restart_runs, args.revoke_runs) < 1 or args.stall_s <= 0:
        ap.error("--fuzz-n, --restart-runs and --revoke-runs must be >= 1, --stall-s > 0")
    parts = [args.only] if args.only else ["fuzz", "stall", "restart", "revoke"]
    out: dict[str, Any] = {"machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                                       "python": platform.python_version(), "libzmq": zmq.zmq_version(),
                                       "load_avg_start": os.getloadavg()},
                           "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        with tempfile.TemporaryDirectory(prefix="bench_faults-") as tmp_s:
            tmp = Path(tmp_s)
            if "fuzz" in parts:
                out["fuzz"] = run_fuzz(args.fuzz_n, args.seed)
                print_fuzz(out["fuzz"])
            if "stall" in parts:
                out["stall"] = [run_stall(tmp, None, args.stall_s), run_stall(tmp, 1000, args.stall_s)]
                print_stall(out["stall"])
            if "restart" in parts:
                out["restart"] = run_restart(tmp, args.restart_runs)
                print_restart(out["restart"])
            if "revoke" in parts:
                out["revoke"] = run_revokes(tmp, args.revoke_runs)
                print_revoke(out["revoke"])
    finally:
        _kill_all()
    out["machine"]["load_avg_end"] = os.getloadavg()
    m = out["machine"]
    print(f"\nmachine: {m['cpu_count']} CPUs, {m['platform']}, Python {m['python']}, libzmq {m['libzmq']}, "
          f"load {m['load_avg_start'][0]:.2f} -> {m['load_avg_end'][0]:.2f}")
    if args.json:
        print(json.dumps(out))
    return 0


def _on_term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    signal.signal(signal.SIGTERM, _on_term)
    try:
        sys.exit(main())
    finally:
        _kill_all()
