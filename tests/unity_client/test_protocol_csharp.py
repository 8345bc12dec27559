"""The Unity package's protocol layer, compiled and tested for real with Mono against the golden message files.

Runs every NUnit test in ``unity_client/Tests/Editor`` (the same files Unity's Test Runner runs in EditMode)
with ``runner/MonoTestRunner.cs`` and asserts that all passed, and in particular that each golden message in
``unity_client/Tests/Golden`` was decoded, compared field by field and re-encoded successfully.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

from pathlib import Path

import pytest

UNITY = Path(__file__).resolve().parents[2] / "unity_client"
PROTOCOL = UNITY / "Protocol"
GOLDEN = UNITY / "Tests" / "Golden"

GOLDEN_TESTS = ("DecodesHeaderBodyAndArraysExactly", "TypedMessageMatchesExpectation",
                "ReEncodingReproducesTheDecodedMessage")


@pytest.fixture(scope="module")
def results(csharp_build, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("unity_results") / "results.json"
    env = dict(os.environ, SONOGUIDE_GOLDEN_DIR=str(GOLDEN))
    proc = subprocess.run(["mono", "--debug", str(csharp_build.runner_exe), str(csharp_build.tests_dll), "--json", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=csharp_build.folder, env=env)
    if not out.exists():
        pytest.fail(f"the Mono test runner wrote no results:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return {r["name"]: r for r in json.loads(out.read_text())}


def test_every_csharp_test_passes(results):
    failed = {n: r["message"] for n, r in results.items() if r["outcome"] != "passed"}
    assert len(results) >= 50, f"only {len(results)} C# tests ran"
    assert not failed, "C# tests failed:\n" + "\n".join(f"{n}: {m}" for n, m in failed.items())


def test_every_golden_file_is_decoded_and_matches_its_expectation(results):
    names = sorted(p.name[: -len(".frames")] for p in GOLDEN.glob("*.frames"))
    assert {"overlay", "overlay_frozen", "overlay_pose_lost", "state", "heartbeat"} <= set(names)
    for name in names:
        for test in GOLDEN_TESTS:
            key = f'GoldenFileTests.{test}("{name}")'
            assert key in results, f"{key} did not run"
            assert results[key]["outcome"] == "passed", f"{key}: {results[key]['message']}"


def test_protocol_layer_is_engine_free():
    asmdef = json.loads((PROTOCOL / "Sonoguide.Protocol.asmdef").read_text())
    assert asmdef["noEngineReferences"] is True and asmdef["references"] == []
    def code(path: Path) -> str:  # the source without // and /// comments (the docs may name Unity types)
        return "\n".join(line.split("//", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())

    offenders = [str(p.relative_to(UNITY)) for p in PROTOCOL.rglob("*.cs")
                 if re.search(r"\b(UnityEngine|UnityEditor|NetMQ|AsyncIO)\b", code(p))]
    assert not offenders, f"Protocol must not use UnityEngine, UnityEditor or NetMQ: {offenders}"


def test_the_csharp_readers_conform_to_the_wire_schema(results):
    """The C# side of the schema check ran and passed, including the checks that it fails on a drifted schema."""
    names = ("ClientReadsExactlyTheFieldsTheSchemaDescribes", "EveryHeaderHasTheFieldsTheDecoderReads",
             "SchemaVersionsAreTheOnesTheClientSupports", "AFieldTheCoreAddsIsReported",
             "AFieldTheCoreNoLongerSendsIsReported", "ATypeTheClientCannotReadIsReported",
             "ANullTheClientCannotTakeIsReported", "AFieldTheClientRequiresButTheSchemaLeavesOptionalIsReported",
             "AFieldTheClientStartsReadingIsReported")
    for name in names:
        key = f"WireSchemaTests.{name}"
        assert key in results, f"{key} did not run"
        assert results[key]["outcome"] == "passed", f"{key}: {results[key]['message']}"
    control = [k for k in results if k.startswith("ControlGoldenTests.ClientReadsTheReply(")]
    assert len(control) >= 6 and all(results[k]["outcome"] == "passed" for k in control)
