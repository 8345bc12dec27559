"""``sonoguide models fetch vosk-en``: download, verify and install the English Vosk model.

The archive is streamed to a temporary file while its SHA-256 is computed, compared with the
pinned value (or ``--sha256``), and only then unpacked (members are checked to stay inside the
target directory) and moved into place atomically. Nothing is ever downloaded at run time or in
tests: the engine only looks for an installed model.

The pinned SHA-256 of ``vosk-model-small-en-us-0.15.zip`` is the value the numen project's
model installer (``get-model.sh``) checks for the same archive; we did not download the file to
recompute it (no internet in this build environment). A user can override it with ``--sha256``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from core.errors import InputError, ModelError, NetworkError
from voice.engines.select import VOSK_MODEL_NAMES
from voice.engines.vosk_engine import check_model_dir

log = logging.getLogger(__name__)

VOSK_EN_URL = "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
VOSK_EN_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, sha256: str | None, progress: bool = False, timeout: float = 60.0) -> str:
    """Stream ``url`` into ``dest`` and return its SHA-256.

    Raises:
        NetworkError: the URL cannot be fetched.
        ModelError: the SHA-256 differs from ``sha256``.
    """
    from tqdm import tqdm

    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name, disable=not progress) as bar:
                while True:
                    block = resp.read(1 << 16)
                    if not block:
                        break
                    h.update(block)
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise NetworkError(f"cannot download {url}: {getattr(exc, 'reason', exc)} - check the internet connection "
                           f"or pass --url") from None
    digest = h.hexdigest()
    if sha256 and digest.lower() != sha256.lower():
        raise ModelError(f"{url}: SHA-256 {digest} does not match the expected {sha256} - the download is corrupt "
                         f"or the file changed; not installed")
    return digest


def safe_extract(zf: zipfile.ZipFile, target: Path) -> None:
    """Extract every member, refusing paths that would land outside ``target``."""
    root = target.resolve()
    for m in zf.infolist():
        dest = (target / m.filename).resolve()
        if root != dest and root not in dest.parents:
            raise InputError(f"archive member {m.filename!r} escapes the target directory; refusing to unpack")
    zf.extractall(target)


def fetch_vosk_en(model_dir: Path, url: str | None = None, sha256: str | None = None, force: bool = False,
                  progress: bool = False) -> Path:
    """Install ``vosk-model-small-en-us-0.15`` into ``model_dir`` and return its path."""
    name = VOSK_MODEL_NAMES["en"]
    final = Path(model_dir).expanduser() / name
    if final.is_dir() and not force:
        check_model_dir(final)
        log.info("%s already installed", final)
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=".fetch-") as tmp:
        archive = Path(tmp) / "model.zip"
        digest = download(url or VOSK_EN_URL, archive, sha256 or VOSK_EN_SHA256, progress=progress)
        log.info("downloaded %s (sha256 %s)", archive, digest)
        try:
            with zipfile.ZipFile(archive) as zf:
                safe_extract(zf, Path(tmp) / "x")
        except zipfile.BadZipFile:
            raise ModelError("the downloaded file is not a zip archive - not installed") from None
        unpacked = Path(tmp) / "x"
        inner = unpacked / name if (unpacked / name).is_dir() else unpacked
        check_model_dir(inner)
        if final.exists():
            shutil.rmtree(final)
        shutil.move(str(inner), str(final))
    return final
