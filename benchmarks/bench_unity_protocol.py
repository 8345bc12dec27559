"""Cost of the Unity client's protocol layer per overlay, measured with Mono (the same C# Unity compiles).

A realistic overlay — 640×480 ultrasound image, a nerve and two vessels with 200-point contours, needle with
trajectory, placement matrices — is built with the core's own encoder (``ar_bridge.schema``), packed, and decoded
N times by ``tests/unity_client/runner/ProtocolBench.cs``: ``MessageParser.Parse`` (validate + type, including the
image copy) and ``OverlayPresenter.Present`` (drawing rules + conversion of every point to Unity metres).

Usage::

    .venv/bin/python benchmarks/bench_unity_protocol.py [--n 500]

Needs ``mcs`` and ``mono`` (Debian: mono-mcs, mono-runtime). Prints a markdown table row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sonoguide.golden import pack_frames  # noqa: E402
from ar_bridge.schema import WireMessage, encode
from ar_bridge.messages import NeedleOverlay, OverlayMessage, StructureOverlay


def _contour(cx: float, cy: float, r: float, n: int = 200) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(a), cy + 0.7 * r * np.sin(a)], axis=1).astype(np.float32)


def realistic_overlay() -> list[bytes]:
    """One overlay as the core sends it at 640×480 with three structures."""
    t0 = 1_790_000_000_000_000_000
    rng = np.random.default_rng(0)
    T = np.eye(4)
    T[:3, :3] = np.diag([0.08, -0.08, 1.0])
    T[:3, 3] = [-25.0, 20.0, -400.0]
    ov = OverlayMessage(
        frame_seq=1, t_capture_ns=t0, valid_until_ns=t0 + 200_000_000, image_size=(640, 480), mm_per_px=(0.08, 0.08),
        frozen=False, layers={"nerve": True, "vessel": True, "needle": True}, quality=0.9, quality_flags=(),
        pose_validity="ok", pose_age_ms=3.0, T_headset_from_image=T,
        structures=(StructureOverlay(1, "nerve", "ok", 0.93, 12.0, _contour(320, 240, 40)),
                    StructureOverlay(2, "vessel", "ok", 0.97, 30.0, _contour(200, 260, 60)),
                    StructureOverlay(3, "vessel", "uncertain", 0.55, 8.0, _contour(450, 300, 25))),
        needle=NeedleOverlay("ok", (300.0, 200.0), (10.0, 40.0), 28.0, "caution", {"nerve": 3.1, "vessel": 9.0},
                             {"nerve": 1.2, "vessel": None}, np.array([[300, 200], [420, 260]], np.float32)),
        source="bench", image=rng.integers(0, 256, (480, 640), dtype=np.uint8))
    body, arrays = ov.to_body()
    return encode(WireMessage("overlay", schema_name("overlay"), 1, t0, t0 + 10_000_000, body, arrays))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "overlay.frames").write_bytes(pack_frames(realistic_overlay()))
        sources = sorted(str(p) for p in (REPO / "unity_client" / "Protocol").rglob("*.cs"))
        subprocess.run(["mcs", "-langversion:7.2", "-optimize+", "-target:library", f"-out:{out / 'P.dll'}", *sources],
                       check=True, capture_output=True)
        subprocess.run(["mcs", "-langversion:7.2", "-optimize+", f"-out:{out / 'bench.exe'}", f"-r:{out / 'P.dll'}",
                        str(REPO / "tests" / "unity_client" / "runner" / "ProtocolBench.cs")], check=True, capture_output=True)
        proc = subprocess.run(["mono", str(out / "bench.exe"), str(out / "overlay.frames"), str(args.n)],
                              check=True, capture_output=True, text=True, cwd=out)
    r = json.loads(proc.stdout.strip().splitlines()[-1])  # one JSON object
    print("| message | decode p50 / p95 | present p50 / p95 | runtime |")
    print("|---|---|---|---|")
    print(f"| overlay 640×480 + 3×200-pt contours ({r['bytes'] / 1024:.0f} KiB) | {r['decode_p50_ms']:.2f} / "
          f"{r['decode_p95_ms']:.2f} ms | {r['present_p50_ms']:.3f} / {r['present_p95_ms']:.3f} ms | Mono {_mono()} |")
    return 0


def _mono() -> str:
    first = subprocess.run(["mono", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return first.split("version")[1].split()[0] if "version" in first else "?"


if __name__ == "__main__":
    sys.exit(main())
