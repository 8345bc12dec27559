"""Builds the Unity package's plain-C# protocol layer and its NUnit tests with Mono for the pytest wrappers.

Unity itself cannot run here, but ``unity_client/Protocol`` is engine-free C#: Mono's ``mcs`` compiles it
together with the package's EditMode tests (``unity_client/Tests/Editor``) against Debian's NUnit 2.6
framework, and ``runner/MonoTestRunner.cs`` runs them. Debian packages: ``mono-mcs``, ``mono-runtime``,
``libnunit-framework2.6.3-cil``.
"""

from __future__ import annotations

import glob
import json
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITY = REPO / "unity_client"
PROTOCOL = UNITY / "Protocol"
TESTS = UNITY / "Tests" / "Editor"
GOLDEN = UNITY / "Tests" / "Golden"
RUNNER = Path(__file__).resolve().parent / "runner" / "MonoTestRunner.cs"
LANG = "-langversion:7.2"  # Mono mcs 6.8's ceiling; Unity 2021.3 compiles C# 9, a superset
NUNIT_GLOBS = ("/usr/lib/cli/nunit.framework-2.6*/nunit.framework.dll", "/usr/lib/mono/*/nunit.framework.dll",
               "/usr/lib/mono/gac/nunit.framework/*/nunit.framework.dll")


@dataclass(frozen=True)
class CSharpBuild:
    """Paths of the compiled assemblies."""

    folder: Path
    protocol_dll: Path
    tests_dll: Path
    runner_exe: Path


def _sources(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*.cs"))


def _compile(args: list[str], what: str) -> None:
    proc = subprocess.run(["mcs", LANG, *args], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"mcs could not compile {what}:\n{proc.stdout}\n{proc.stderr}", pytrace=False)


def find_nunit() -> str | None:
    """Path of Debian's nunit.framework.dll, or None."""
    for pattern in NUNIT_GLOBS:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[-1]
    return None


def require_mono() -> str:
    """Skip the test when Mono or NUnit is missing; return the NUnit framework path."""
    missing = [tool for tool in ("mcs", "mono") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian: apt-get install mono-mcs mono-runtime "
                    "libnunit-framework2.6.3-cil)")
    nunit = find_nunit()
    if nunit is None:
        pytest.skip("nunit.framework.dll not found (Debian: apt-get install libnunit-framework2.6.3-cil)")
    return nunit


@pytest.fixture(scope="session")
def csharp_build(tmp_path_factory: pytest.TempPathFactory) -> CSharpBuild:
    """Compile Protocol (warnings are errors), the EditMode tests and the Mono test runner."""
    nunit = require_mono()
    out = tmp_path_factory.mktemp("unity_csharp")
    shutil.copy(nunit, out / "nunit.framework.dll")
    protocol = out / "Sonoguide.Protocol.dll"
    tests = out / "Sonoguide.Protocol.Tests.dll"
    runner = out / "MonoTestRunner.exe"
    _compile(["-target:library", "-warnaserror+", "-debug", f"-out:{protocol}", *_sources(PROTOCOL)], "unity_client/Protocol")
    _compile(["-target:library", "-debug", f"-out:{tests}", f"-r:{protocol}", f"-r:{out / 'nunit.framework.dll'}",
              *_sources(TESTS)], "unity_client/Tests/Editor")
    _compile([f"-out:{runner}", f"-r:{out / 'nunit.framework.dll'}", str(RUNNER)], "the Mono test runner")
    return CSharpBuild(out, protocol, tests, runner)


def find_libzmq() -> str | None:
    """A libzmq shared library: the one bundled in pyzmq's wheel, else the system's (Debian libzmq5)."""
    import ctypes.util

    import zmq

    site = Path(zmq.__file__).resolve().parent.parent
    hits = sorted(glob.glob(str(site / "pyzmq.libs" / "libzmq*.so*")))
    if hits:
        return hits[-1]
    name = ctypes.util.find_library("zmq")
    if name:
        for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"):
            if (Path(folder) / name).exists():
                return str(Path(folder) / name)
    return None


@dataclass(frozen=True)
class ProbeBuild:
    """The client probe: the package's client over libzmq, driven through stdin/stdout."""

    exe: Path


@pytest.fixture(scope="session")
def probe_build(csharp_build: CSharpBuild) -> ProbeBuild:
    """Compile ``runner/ClientProbe.cs`` with the libzmq transport against the compiled protocol layer."""
    lib = find_libzmq()
    if lib is None:
        pytest.skip("no libzmq shared library found (pyzmq's wheel bundles one; or apt-get install libzmq5)")
    runner = RUNNER.parent
    exe = csharp_build.folder / "ClientProbe.exe"
    _compile([f"-out:{exe}", f"-r:{csharp_build.protocol_dll}", str(runner / "ClientProbe.cs"),
              str(runner / "LibZmqTransport.cs")], "the client probe")
    # Mono resolves DllImport("libzmq") through this map (Mono "dllmap" configuration).
    (csharp_build.folder / "ClientProbe.exe.config").write_text(
        f'<configuration><dllmap dll="libzmq" target="{lib}"/></configuration>\n')
    return ProbeBuild(exe)


class Probe:
    """The C# client probe as a subprocess; events are its JSON lines."""

    def __init__(self, exe: Path, *args: str) -> None:
        self.proc = subprocess.Popen(["mono", "--debug", str(exe), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1, cwd=exe.parent)
        self.events: list[dict] = []
        self._q: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self._q.put(json.loads(line))
            except json.JSONDecodeError:
                self._q.put({"event": "garbage", "line": line})

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, pred: Callable[[dict], bool], timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        for e in self.events:
            if pred(e):
                return e
        while time.monotonic() < deadline:
            try:
                e = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.events.append(e)
            if pred(e):
                return e
        tail = "\n".join(json.dumps(e) for e in self.events[-15:])
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; last events:\n{tail}")

    def mark(self) -> int:
        """Forget the events so far for later waits (they stay in the log)."""
        self.drain()
        self._seen = len(self.events)
        return self._seen

    def drain(self) -> None:
        while True:
            try:
                self.events.append(self._q.get_nowait())
            except queue.Empty:
                return

    def after(self, index: int, pred: Callable[[dict], bool], timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            for e in self.events[index:]:
                if pred(e):
                    return e
            if time.monotonic() > deadline:
                tail = "\n".join(json.dumps(e) for e in self.events[-15:])
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; last events:\n{tail}")
            time.sleep(0.02)

    def report(self) -> dict:
        start = self.mark()
        self.send("report")
        return self.after(start, lambda e: e["event"] == "report", 5, "a report")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)


def reply(probe: Probe, command: str) -> dict:
    start = probe.mark()
    probe.send(f"send {command}")
    normalised = " ".join(command.lower().split())
    sent = probe.after(start, lambda e: e["event"] == "sent" and e["command"] == normalised, 5, f"'{command}' queued")
    return probe.after(start, lambda e: e["event"] == "reply" and e["id"] == sent["id"], 5, f"the reply to '{command}'")


@pytest.fixture
def probe_tools() -> SimpleNamespace:
    """The probe driver (:class:`Probe`) and :func:`reply` (send a command, wait for its answer)."""
    return SimpleNamespace(Probe=Probe, reply=reply)
