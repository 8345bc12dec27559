"""The committed golden message files are exactly what the encoder produces today."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sonoguide.golden import build_golden, unpack_frames
from ar_bridge.schema import decode
from ar_bridge.messages import OverlayMessage

GOLDEN = Path(__file__).resolve().parents[2] / "unity_client" / "Tests" / "Golden"


def test_committed_golden_files_match_the_encoder():
    built = build_golden()
    on_disk = {p.name: p.read_bytes() for p in GOLDEN.iterdir() if p.is_file() and p.suffix != ".meta"}
    assert set(built) == set(on_disk), "regenerate with: python -m sonoguide.golden unity_client/Tests/Golden"
    for name, content in built.items():
        assert on_disk[name] == content, f"{name} differs from the encoder's output"


def test_golden_overlay_decodes_to_its_expectation():
    frames = unpack_frames((GOLDEN / "overlay.frames").read_bytes())
    expected = json.loads((GOLDEN / "overlay.expected.json").read_text())
    msg = decode(frames)
    assert msg.topic == expected["topic"] and msg.seq == expected["seq"] and msg.body == expected["body"]
    for name, spec in expected["arrays"].items():
        np.testing.assert_array_equal(msg.arrays[name], np.asarray(spec["values"], dtype=spec["dtype"]))
    ov = OverlayMessage.from_wire(msg)
    assert ov.needle.proximity == "caution" and len(ov.structures) == 2
