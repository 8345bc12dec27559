"""Type-check of the Unity package's Runtime code (MonoBehaviours and the NetMQ transport) with Mono.

Unity and NetMQ are not installable here, so ``unity_client/Runtime`` (and the samples) is compiled against hand-written declarations
of the UnityEngine and NetMQ members it uses (``api_surface/``; see its README). This catches typing mistakes,
wrong member names and C# features beyond Mono's and Unity 2021.3's reach, in every conditional-compilation
variant; it does not run anything and is no substitute for opening the package in Unity.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNTIME = HERE.parents[1] / "unity_client" / "Runtime"
SAMPLES = HERE.parents[1] / "unity_client" / "Samples~"
SURFACE = HERE / "api_surface"
VARIANTS = ("SONOGUIDE_NETMQ;ENABLE_LEGACY_INPUT_MANAGER",  # Editor / desktop with NetMQ installed
            "SONOGUIDE_NETMQ;UNITY_ANDROID;UNITY_2022_2_OR_NEWER",  # Quest build, newer font name, new Input System
            "UNITY_WSA")  # before NetMQ is added: the NetMQ assembly is excluded by its define constraint


def _mcs(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["mcs", "-langversion:7.2", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def surface(csharp_build):
    out = csharp_build.folder
    for name, src in (("UnityEngine.dll", "UnityEngineSurface.cs"), ("NetMQ.dll", "NetMQSurface.cs")):
        proc = _mcs(["-target:library", "-nowarn:1591", f"-out:{out / name}", str(SURFACE / src)])
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.parametrize("defines", VARIANTS)
def test_runtime_compiles_against_the_declared_unity_and_netmq_api(surface, csharp_build, defines):
    sources = sorted(str(p) for p in RUNTIME.rglob("*.cs") if "SONOGUIDE_NETMQ" in defines or "NetMQ" not in p.parts)
    sources += sorted(str(p) for p in SAMPLES.rglob("*.cs"))
    proc = _mcs(["-target:library", "-warnaserror+", f"-define:{defines}", f"-out:{surface / 'Sonoguide.Runtime.dll'}",
                 f"-r:{csharp_build.protocol_dll}", f"-r:{surface / 'UnityEngine.dll'}", f"-r:{surface / 'NetMQ.dll'}",
                 *sources])
    assert proc.returncode == 0, f"Runtime does not type-check with {defines}:\n{proc.stdout}{proc.stderr}"


def test_runtime_asmdefs_reference_the_protocol_and_gate_netmq():
    import json

    runtime = json.loads((RUNTIME / "Sonoguide.Runtime.asmdef").read_text())
    netmq = json.loads((RUNTIME / "NetMQ" / "Sonoguide.Runtime.NetMQ.asmdef").read_text())
    assert runtime["references"] == ["Sonoguide.Protocol"]
    assert netmq["defineConstraints"] == ["SONOGUIDE_NETMQ"]
    assert set(netmq["references"]) == {"Sonoguide.Protocol", "Sonoguide.Runtime"}
    assert "NetMQ" not in "".join(p.read_text() for p in RUNTIME.glob("*.cs") if p.name != "TransportRegistry.cs")
