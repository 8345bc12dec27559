#!/usr/bin/env python3
"""Write the Unity ``.meta`` files of the package (run after adding a file or folder).

Unity needs a ``.meta`` file with a stable GUID beside every asset of an immutable package (one installed from a Git
URL): without it the asset is ignored. The GUID is derived from the path (MD5 of ``org.sonoguide.client:<path>``),
so running this again changes nothing and two clones agree. Skipped: hidden files, folders ending in ``~`` (Unity
ignores them), except ``Samples~``: Unity copies a sample with its ``.meta`` files into ``Assets/`` on import, and the
sample scene finds its scripts by these GUIDs (the folder itself gets none).

Usage: ``python3 unity_client/Tools~/generate_meta.py [--check]``; ``--check`` lists missing or stale files and exits 1.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
PACKAGE_NAME = "org.sonoguide.client"
NO_META_INSIDE: tuple[str, ...] = ()
SAMPLES = "Samples~"

_IMPORTER = {
    ".cs": """MonoImporter:
  externalObjects: {}
  serializedVersion: 2
  defaultReferences: []
  executionOrder: 0
  icon: {instanceID: 0}
  userData: 
  assetBundleName: 
  assetBundleVariant: 
""",
    ".asmdef": """AssemblyDefinitionImporter:
  externalObjects: {}
  userData: 
  assetBundleName: 
  assetBundleVariant: 
""",
    "package.json": """PackageManifestImporter:
  externalObjects: {}
  userData: 
  assetBundleName: 
  assetBundleVariant: 
""",
    "text": """TextScriptImporter:
  externalObjects: {}
  userData: 
  assetBundleName: 
  assetBundleVariant: 
""",
    "folder": """folderAsset: yes
DefaultImporter:
  externalObjects: {}
  userData: 
  assetBundleName: 
  assetBundleVariant: 
""",
    "other": """DefaultImporter:
  externalObjects: {}
  userData: 
  assetBundleName: 
  assetBundleVariant: 
""",
}
_TEXT = {".md", ".json", ".txt", ".xml"}


def guid(rel: str) -> str:
    """The stable GUID of the asset at package-relative path ``rel``."""
    return hashlib.md5(f"{PACKAGE_NAME}:{rel}".encode()).hexdigest()


def _importer(path: Path) -> str:
    if path.is_dir():
        return _IMPORTER["folder"]
    if path.name == "package.json":
        return _IMPORTER["package.json"]
    if path.suffix in _IMPORTER:
        return _IMPORTER[path.suffix]
    return _IMPORTER["text"] if path.suffix in _TEXT else _IMPORTER["other"]


def meta_text(path: Path) -> str:
    """The content of ``path``'s ``.meta`` file."""
    rel = path.relative_to(PACKAGE).as_posix()
    return f"fileFormatVersion: 2\nguid: {guid(rel)}\n{_importer(path)}"


def assets(root: Path = PACKAGE) -> list[Path]:
    """Every file and folder of the package that needs a ``.meta`` file."""
    out: list[Path] = []
    for p in sorted(root.iterdir()):
        if p.name.startswith(".") or p.suffix == ".meta":
            continue
        if p.name.endswith("~"):
            if p.name == SAMPLES and p.is_dir():
                out.extend(assets(p))
            continue
        rel = p.relative_to(PACKAGE).as_posix()
        inside_excluded = any(rel.startswith(d + "/") for d in NO_META_INSIDE)
        if not inside_excluded:
            out.append(p)
        if p.is_dir():
            out.extend(assets(p))
    return out


def problems() -> list[str]:
    """Missing or stale ``.meta`` files, and ``.meta`` files without an asset."""
    found = []
    wanted = set()
    for a in assets():
        meta = a.with_name(a.name + ".meta")
        wanted.add(meta)
        if not meta.exists():
            found.append(f"missing {meta.relative_to(PACKAGE)}")
        elif meta.read_text() != meta_text(a):
            found.append(f"stale {meta.relative_to(PACKAGE)}")
    for meta in PACKAGE.rglob("*.meta"):
        parts = meta.relative_to(PACKAGE).parts
        if meta not in wanted and not any(part.endswith("~") and part != SAMPLES for part in parts):
            found.append(f"orphan {meta.relative_to(PACKAGE)}")
    return found


def main(argv: list[str]) -> int:
    if "--check" in argv:
        found = problems()
        for line in found:
            print(line)
        return 1 if found else 0
    written = 0
    for a in assets():
        meta = a.with_name(a.name + ".meta")
        text = meta_text(a)
        if not meta.exists() or meta.read_text() != text:
            meta.write_text(text)
            written += 1
    print(f"{written} .meta file(s) written under {PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
