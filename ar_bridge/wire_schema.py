"""The wire contract as a machine-readable description: one JSON Schema (draft 2020-12) document.

:mod:`ar_bridge.schema` frames a message and :mod:`ar_bridge.messages` says what each topic's
body holds; this module turns both into ``wire_schema.json``, committed beside the golden files
in ``unity_client/Tests/Golden`` so that both languages are checked against one description:

* Python: every golden message, produced by the real :class:`~ar_bridge.publisher.Publisher`
  and :class:`~ar_bridge.control.ControlServer`, every message of a live run and of a replay, and
  the audio and control requests the C# client sends, validate against it (tests), and the
  committed file must equal :func:`wire_schema` (so a field added to a message class without
  regenerating fails);
* C#: the package's tests record which body fields the client reads, with which types and
  whether it requires them, and compare them with this file (``WireSchemaTests``), so a field
  added on either side without the other fails.

Every object is closed (``additionalProperties: false``) and lists every field the core sends as
``required``: the schema describes exactly what the current core sends. A client still ignores
unknown fields at run time (PROTOCOL.md, "extend, do not break"); the strictness is for the
tests. The bodies of ``state``, ``heartbeat`` and ``voice`` are derived from their dataclasses'
annotations; the ``overlay`` body, whose fields name binary arrays, is declared here.

Regenerate deliberately with ``python -m sonoguide.golden unity_client/Tests/Golden``.

Reference: JSON Schema 2020-12 (json-schema.org/draft/2020-12), "Core" and "Validation".
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields
from typing import Any, Mapping

from ar_bridge.messages import HeartbeatMessage, StateMessage, VoiceMessage
from ar_bridge.schema import ALLOWED_DTYPES, SCHEMA_VERSIONS, TOPICS, schema_name

SCHEMA_FILE = "wire_schema.json"
"""Name of the committed schema file in the golden folder."""

_NULL = {"type": "null"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"anyOf": [dict(schema), _NULL]}
    t = schema["type"]
    return {**schema, "type": [*(t if isinstance(t, list) else [t]), "null"]}


def _obj(props: Mapping[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": sorted(props) if required is None else sorted(required), "properties": dict(props)}


def _map(values: Mapping[str, Any]) -> dict[str, Any]:
    """An object with free keys (a class name, a layer) and values of one schema."""
    return {"type": "object", "additionalProperties": dict(values)}


INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
STRING = {"type": "string"}
LAYERS = _map(BOOLEAN)
DISTANCES = _map(_nullable(NUMBER))


def _pair(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": dict(item), "minItems": 2, "maxItems": 2}


_PY_TYPES = {int: INTEGER, float: NUMBER, bool: BOOLEAN, str: STRING}


def _from_annotation(tp: Any, overrides: Mapping[str, Any], name: str) -> dict[str, Any]:
    if name in overrides:
        return dict(overrides[name])
    if tp in _PY_TYPES:
        return dict(_PY_TYPES[tp])
    args = typing.get_args(tp)
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and len(args) == 2:
            return _nullable(_from_annotation(inner[0], {}, name))
    raise TypeError(f"field {name!r}: no JSON Schema for annotation {tp!r}; add an override in ar_bridge.wire_schema")


def _dataclass_body(cls: type, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A closed object with one required property per dataclass field, typed from its annotation."""
    hints = typing.get_type_hints(cls)
    props = {f.name: _from_annotation(hints[f.name], overrides or {}, f.name) for f in fields(cls)}
    return _obj(props)


def _bodies() -> dict[str, dict[str, Any]]:
    structure = _obj({"id": INTEGER, "cls": STRING, "validity": STRING, "confidence": NUMBER, "area_mm2": NUMBER,
                      "contour": STRING})
    needle = _obj({"validity": STRING, "tip_px": _nullable(_pair(NUMBER)), "entry_px": _nullable(_pair(NUMBER)),
                   "angle_deg": _nullable(NUMBER), "proximity": STRING, "tip_distance_mm": DISTANCES,
                   "trajectory_distance_mm": DISTANCES, "trajectory": _nullable(STRING)})
    overlay = _obj({
        "frame_seq": INTEGER, "valid_until_ns": INTEGER, "image_size": _pair(INTEGER), "mm_per_px": _pair(NUMBER),
        "frozen": BOOLEAN, "layers": LAYERS, "quality": NUMBER, "quality_flags": {"type": "array", "items": STRING},
        "pose_validity": STRING, "pose_age_ms": _nullable(NUMBER),
        "structures": {"type": "array", "items": _ref("overlay.structure")},
        "needle": _nullable(_ref("overlay.needle")), "source": STRING, "image": _nullable(STRING),
        "frozen_at_ns": _nullable(INTEGER)})
    last_command = _obj({"intent": STRING, "origin": STRING, "t_ns": INTEGER})
    state = _dataclass_body(StateMessage, {"layers": LAYERS, "last_command": _nullable(_ref("state.last_command"))})
    request_id = {"type": ["string", "integer"]}
    return {
        "overlay": overlay, "overlay.structure": structure, "overlay.needle": needle,
        "state": state, "state.last_command": last_command,
        "heartbeat": _dataclass_body(HeartbeatMessage),
        "voice": _dataclass_body(VoiceMessage),
        "audio": _obj({"sample_rate": INTEGER, "channels": INTEGER}),
        "control_request": _obj({"id": request_id, "command": STRING}),
        "control_reply": _obj({"id": _nullable(request_id), "ok": BOOLEAN, "status": STRING,
                               "intent": _nullable(STRING), "error": STRING, "state": _ref("state")},
                              required=["id", "ok"]),
    }


ARRAY_NAMES: dict[str, str] = {
    "overlay": "^(T_headset_from_image|T_unity_from_image|image|needle_trajectory|contour_-?[0-9]+)$",
    "audio": "^pcm$",
}
"""The binary arrays each topic may carry (a regular expression over names); other topics carry none."""


def _header(topic: str) -> dict[str, Any]:
    pattern = ARRAY_NAMES.get(topic)
    array = _obj({"name": {"type": "string", "pattern": pattern} if pattern else STRING,
                  "dtype": {"enum": sorted(ALLOWED_DTYPES)},
                  "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}}})
    arrays = {"type": "array", "items": array} if pattern else {"type": "array", "maxItems": 0}
    return _obj({"schema": {"const": schema_name(topic)}, "seq": INTEGER, "t_capture_ns": INTEGER,
                 "t_publish_ns": INTEGER, "arrays": arrays, "body": _ref(topic)})


def wire_schema() -> dict[str, Any]:
    """The whole contract: a header schema per topic (``header.<topic>``) and every body under ``$defs``."""
    defs: dict[str, Any] = dict(_bodies())
    for topic in TOPICS:
        defs[f"header.{topic}"] = _header(topic)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sonoguide.org/schema/wire.json",
        "title": "sonoguide wire contract",
        "description": "ZeroMQ multipart [topic, header, *arrays]: $defs/header.<topic> describes the JSON header "
                       "of each topic, $defs/<topic> its body; control_request and control_reply are the JSON "
                       "frames of the control channel. Generated by ar_bridge/wire_schema.py; see PROTOCOL.md.",
        "x-sonoguide-versions": {t: SCHEMA_VERSIONS[t] for t in TOPICS},
        "$defs": dict(sorted(defs.items())),
    }
