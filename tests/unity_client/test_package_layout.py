"""The Unity package is installable as it is laid out: manifest, assembly definitions, and a .meta file per asset."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "unity_client"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_meta", PACKAGE / "Tools~" / "generate_meta.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_manifest_names_the_package_version_and_unity_floor():
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert manifest["name"] == "org.sonoguide.client"
    assert manifest["version"] == "0.1.0"
    assert manifest["unity"] == "2021.3"
    for sample in manifest["samples"]:
        assert (PACKAGE / sample["path"]).is_dir(), sample["path"]
    assert (PACKAGE / "README.md").is_file() and (PACKAGE / "CHANGELOG.md").is_file()


def test_assembly_definitions_separate_engine_free_code_from_unity_code():
    asm = {p.stem: json.loads(p.read_text()) for p in PACKAGE.rglob("*.asmdef") if "~" not in str(p.parent)}
    assert set(asm) == {"Sonoguide.Protocol", "Sonoguide.Runtime", "Sonoguide.Runtime.NetMQ", "Sonoguide.Protocol.Tests"}
    assert asm["Sonoguide.Protocol"]["noEngineReferences"] is True
    tests = asm["Sonoguide.Protocol.Tests"]
    assert tests["includePlatforms"] == ["Editor"] and tests["precompiledReferences"] == ["nunit.framework.dll"]
    assert "UNITY_INCLUDE_TESTS" in tests["defineConstraints"] and "Sonoguide.Protocol" in tests["references"]
    for name, a in asm.items():
        assert a["name"] == name


def test_every_asset_has_a_current_meta_file_with_a_unique_guid():
    gen = _generator()
    assert gen.problems() == [], "run: python3 unity_client/Tools~/generate_meta.py"
    guids = [re.search(r"^guid: ([0-9a-f]{32})$", m.read_text(), re.M).group(1) for m in PACKAGE.rglob("*.meta")]
    assert len(guids) == len(set(guids)) and len(guids) > 50
    golden = [p for p in (PACKAGE / "Tests" / "Golden").iterdir() if p.suffix != ".meta"]
    assert all((p.parent / (p.name + ".meta")).is_file() for p in golden), "golden files need their .meta"


def _scene_objects(text: str) -> dict[int, tuple[int, str]]:
    """Unity YAML documents by fileID: (class id, body)."""
    docs = re.split(r"^--- !u!(\d+) &(\d+)\n", text, flags=re.M)[1:]
    return {int(docs[i + 1]): (int(docs[i]), docs[i + 2]) for i in range(0, len(docs), 3)}


def test_sample_scene_holds_an_xr_origin_with_a_main_camera_and_the_rig():
    """The scene was written by hand (Unity cannot run here): its structure and references must hold together."""
    sample = PACKAGE / "Samples~" / "QuickStart"
    objs = _scene_objects((sample / "QuickStart.unity").read_text())
    names = {fid: re.search(r"m_Name: (.*)", body).group(1) for fid, (cls, body) in objs.items() if cls == 1}
    assert {"XR Origin", "Camera Offset", "Main Camera", "Sonoguide Quick Start"} <= set(names.values())
    for fid, (cls, body) in objs.items():  # every reference points at an object of the scene
        for ref in re.findall(r"\{fileID: (\d+)\}", body):
            assert int(ref) == 0 or int(ref) in objs, f"object {fid} refers to missing {ref}"
    camera_go = next(fid for fid, n in names.items() if n == "Main Camera")
    assert "m_TagString: MainCamera" in objs[camera_go][1]
    comps = [int(c) for c in re.findall(r"component: \{fileID: (\d+)\}", objs[camera_go][1])]
    assert {objs[c][0] for c in comps} == {4, 20, 81}  # Transform, Camera, AudioListener
    camera = next(body for cls, body in objs.values() if cls == 20)
    assert "m_BackGroundColor: {r: 0, g: 0, b: 0, a: 0}" in camera  # transparent: passthrough and additive displays
    transforms = {fid: body for fid, (cls, body) in objs.items() if cls == 4}
    by_go = {int(re.search(r"m_GameObject: \{fileID: (\d+)\}", b).group(1)): fid for fid, b in transforms.items()}
    parent = {fid: int(re.search(r"m_Father: \{fileID: (\d+)\}", b).group(1)) for fid, b in transforms.items()}
    chain, node = [], by_go[camera_go]
    while node:
        chain.append(names[next(go for go, t in by_go.items() if t == node)])
        node = parent[node]
    assert chain == ["Main Camera", "Camera Offset", "XR Origin"]
    # the rig component: its script GUID is QuickStartRig.cs's, and its fields are the script's serialized fields
    rig = next(body for cls, body in objs.values() if cls == 114)
    guid = re.search(r"guid: ([0-9a-f]{32})", (sample / "QuickStartRig.cs.meta").read_text()).group(1)
    assert f"m_Script: {{fileID: 11500000, guid: {guid}, type: 3}}" in rig
    script = (sample / "QuickStartRig.cs").read_text()
    fields = set(re.findall(r"\[SerializeField\] private \w+ (\w+)", script))
    scene_fields = set(re.findall(r"^  (\w+): ", rig.split("m_EditorClassIdentifier:")[1], re.M))
    assert scene_fields == fields
    assert "AddComponent<XrHeadTracking>()" in script


def test_documentation_licence_and_manifest_for_a_deployable_package():
    doc = (PACKAGE / "Documentation~" / "index.md").read_text()
    for topic in ("What has been run where", "HoloLens 2", "Quest 3", "Depth Submission Mode", "Passthrough",
                  "spatial anchor", "RECORD_AUDIO", "NetMQ | 4.0.1.11", "HEADSET TRACKING LOST"):
        assert topic.lower() in doc.lower(), topic
    licence = (PACKAGE / "LICENSE.md").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence
    assert json.loads((PACKAGE / "package.json").read_text())["license"] == "Apache-2.0"
