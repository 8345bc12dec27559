"""Model fetch against a local HTTP server (real socket, real hashing); never the internet."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from core.errors import ModelError, NetworkError
from voice.fetch import VOSK_EN_SHA256, fetch_vosk_en, sha256_file


def _zip(name="vosk-model-small-en-us-0.15", evil=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/am/final.mdl", b"model bytes")
        z.writestr(f"{name}/conf/model.conf", b"--min-active=200\n")
        z.writestr(f"{name}/README", b"small test model")
        if evil:
            z.writestr("../../escape.txt", b"x")
    return buf.getvalue()


@pytest.fixture()
def server():
    files: dict[str, bytes] = {}

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            data = files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", files
    srv.shutdown()
    srv.server_close()


def test_fetch_verifies_and_installs(server, tmp_path):
    base, files = server
    data = _zip()
    files["/m.zip"] = data
    sha = hashlib.sha256(data).hexdigest()
    path = fetch_vosk_en(tmp_path, url=base + "/m.zip", sha256=sha)
    assert path == tmp_path / "vosk-model-small-en-us-0.15"
    assert (path / "am" / "final.mdl").read_bytes() == b"model bytes"
    assert not list(tmp_path.glob(".fetch-*"))  # temporary files cleaned up
    # installed: a second call does not download (the server no longer has it)
    del files["/m.zip"]
    assert fetch_vosk_en(tmp_path, url=base + "/m.zip", sha256=sha) == path


def test_checksum_mismatch_installs_nothing(server, tmp_path):
    base, files = server
    files["/m.zip"] = _zip()
    with pytest.raises(ModelError, match="SHA-256"):
        fetch_vosk_en(tmp_path, url=base + "/m.zip")  # the pinned hash of the real archive
    assert not (tmp_path / "vosk-model-small-en-us-0.15").exists()


def test_unreachable_and_404(server, tmp_path):
    base, _ = server
    with pytest.raises(NetworkError, match="cannot download"):
        fetch_vosk_en(tmp_path, url=base + "/missing.zip", sha256="0" * 64)


def test_path_traversal_refused(server, tmp_path):
    base, files = server
    data = _zip(evil=True)
    files["/e.zip"] = data
    from core.errors import InputError

    with pytest.raises(InputError, match="escapes"):
        fetch_vosk_en(tmp_path / "models", url=base + "/e.zip", sha256=hashlib.sha256(data).hexdigest())
    assert not (tmp_path / "escape.txt").exists()


def test_pinned_hash_format():
    assert len(VOSK_EN_SHA256) == 64 and int(VOSK_EN_SHA256, 16) >= 0


def test_sha256_file(tmp_path):
    p = Path(tmp_path / "f")
    p.write_bytes(b"abc")
    assert sha256_file(p) == hashlib.sha256(b"abc").hexdigest()
