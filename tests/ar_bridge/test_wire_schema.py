"""The machine-readable wire contract (ar_bridge/wire_schema.py, committed as wire_schema.json).

It is the one description both languages are checked against: the committed file is what the
code generates, every golden message and control exchange conforms to it, and a message with a
field added or removed fails against it, for every topic.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ar_bridge.messages import HeartbeatMessage, StateMessage, VoiceMessage
from ar_bridge.schema import TOPICS
from ar_bridge.wire_schema import SCHEMA_FILE, _dataclass_body, wire_schema
from sonoguide.golden import unpack_frames

GOLDEN = Path(__file__).resolve().parents[2] / "unity_client" / "Tests" / "Golden"


def _golden_headers() -> dict[str, dict]:
    return {p.name[: -len(".frames")]: json.loads(unpack_frames(p.read_bytes())[1])
            for p in sorted(GOLDEN.glob("*.frames"))}


def test_committed_schema_is_what_the_code_generates():
    committed = json.loads((GOLDEN / SCHEMA_FILE).read_text())
    assert committed == wire_schema(), "regenerate with: python -m sonoguide.golden unity_client/Tests/Golden"


def test_every_topic_and_both_control_frames_are_described():
    defs = wire_schema()["$defs"]
    for topic in TOPICS:
        assert f"header.{topic}" in defs and topic in defs
    assert {"control_request", "control_reply"} <= set(defs)


def test_every_golden_message_conforms(wire_contract):
    topics = set()
    for name, path in ((p.name, p) for p in sorted(GOLDEN.glob("*.frames"))):
        topics.add(wire_contract.check_frames(unpack_frames(path.read_bytes())))
    topics.add(wire_contract.check_frames(unpack_frames((GOLDEN / "audio.upstream").read_bytes())))
    assert {"overlay", "state", "heartbeat", "voice", "audio"} <= topics


def test_every_golden_control_exchange_conforms(wire_contract):
    requests = sorted(GOLDEN.glob("control_*.request.json"))
    assert len(requests) >= 5
    for req in requests:
        reply = req.with_name(req.name.replace(".request.json", ".reply.json"))
        if req.name != "control_malformed.request.json":
            wire_contract.check_control("request", req.read_bytes())
        wire_contract.check_control("reply", reply.read_bytes())


@pytest.mark.parametrize("name", ["overlay", "state", "heartbeat", "voice"])
def test_an_added_or_a_missing_body_field_fails(wire_contract, name):
    header = _golden_headers()[name]
    topic = header["schema"].split(".")[1].split("/")[0]
    added = json.loads(json.dumps(header))
    added["body"]["new_field"] = 1
    assert any("new_field" in e for e in wire_contract.errors(f"header.{topic}", added))
    for field in header["body"]:
        missing = json.loads(json.dumps(header))
        del missing["body"][field]
        assert any(repr(field) in e for e in wire_contract.errors(f"header.{topic}", missing)), field


def test_nested_objects_and_the_header_are_closed_too(wire_contract):
    header = _golden_headers()["overlay"]
    for mutate in (lambda h: h["body"]["needle"].update(extra=1), lambda h: h["body"]["structures"][0].pop("cls"),
                   lambda h: h.update(extra=1), lambda h: h["arrays"].append({"name": "mask", "dtype": "|u1",
                                                                              "shape": [1]}),
                   lambda h: h.update(schema="sonoguide.overlay/2")):
        bad = json.loads(json.dumps(header))
        mutate(bad)
        assert wire_contract.errors("header.overlay", bad), bad


def test_a_type_change_fails(wire_contract):
    header = _golden_headers()["heartbeat"]
    header["body"]["subscribers"] = 1.5
    assert wire_contract.errors("header.heartbeat", header)


def test_a_field_added_to_a_message_class_changes_the_schema():
    """A new dataclass field (sent by to_body) becomes a required property: the committed file no longer matches."""
    for cls in (StateMessage, HeartbeatMessage, VoiceMessage):
        extended = dataclasses.make_dataclass(f"Extended{cls.__name__}", [("new_field", int, dataclasses.field(default=0))],
                                              bases=(cls,), frozen=True)
        overrides = {"layers": {"type": "object"}, "last_command": {"type": "object"}}
        body = _dataclass_body(extended, overrides)
        assert "new_field" in body["required"] and body["properties"]["new_field"] == {"type": "integer"}


def test_control_request_rejects_unknown_fields(wire_contract):
    assert wire_contract.errors("control_request", {"id": "1", "command": "freeze", "arg": 2})
    assert wire_contract.errors("control_request", {"id": "1"})
    assert not wire_contract.errors("control_request", {"id": 7, "command": "freeze"})
