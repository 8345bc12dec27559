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
