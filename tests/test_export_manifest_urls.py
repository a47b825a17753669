"""Manifest lines may give a `url` instead of a `path` (as the API's labelled-set JSONL does): the
importer downloads it within the byte limit and a time limit, or rejects the line saying why."""

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from studyapp.models import Image
from tests.imagefiles import write_image

pytestmark = pytest.mark.django_db

LIMIT = 40_000


class _Files(BaseHTTPRequestHandler):
    """/ok.png: an image; /big: announces more than the limit; /endless: streams more than the
    limit without announcing it; /slow: answers after the time limit; anything else: 404."""

    image = b""

    def do_GET(self) -> None:
        # the importer hangs up early, as it should, on /big and /slow
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(self.path.split("?")[0])

    def _answer(self, path: str) -> None:
        if path == "/ok.png":
            self._send(200, self.image)
        elif path == "/big":
            self._send(200, b"x" * (LIMIT + 1))
        elif path == "/endless":
            self.send_response(200)
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"y" * 10_000)
        elif path == "/slow":
            time.sleep(1.5)
            self._send(200, self.image)
        else:
            self._send(404, b"not here")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    _Files.image = write_image(tmp_path / "ok.png", size=(80, 60)).read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_url_lines_download_or_are_rejected_with_a_reason(
    file_server: str, tmp_path: Path, settings, monkeypatch
) -> None:
    settings.BEHOLDER_MAX_IMAGE_BYTES = LIMIT
    settings.BEHOLDER_DOWNLOAD_TIMEOUT_S = 0.5
    lines = [
        {"url": f"{file_server}/ok.png?sig=secret", "label": "fake", "generator": "sd14"},
        {"url": f"{file_server}/missing.png", "label": "real"},
        {"url": f"{file_server}/big", "label": "real"},
        {"url": f"{file_server}/endless", "label": "real"},
        {"url": f"{file_server}/slow", "label": "real"},
        {"url": "http://127.0.0.1:9/closed.png", "label": "real"},
        {"url": "file:///etc/passwd", "label": "real"},
        {"url": "/media/v/relative.jpg", "label": "real"},
        {"url": 7, "label": "real"},
        {"label": "real", "image": "extra keys are ignored"},
    ]
    manifest = tmp_path / "urls.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out, err = StringIO(), StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("import_images", str(manifest), "--dataset", "d", stdout=out, stderr=err)

    assert exited.value.code == 1
    assert "imported 1, duplicates 0, rejected 9" in out.getvalue()
    reasons = err.getvalue().splitlines()
    expected = [
        "line 2 (" + file_server + "/missing.png): download failed: HTTP 404",
        f"line 3 ({file_server}/big): download of 40,001 bytes exceeds the limit of 40,000",
        f"line 4 ({file_server}/endless): download exceeds the limit of 40,000 bytes",
        f"line 5 ({file_server}/slow): download timed out after 0.5 s",
        "line 6 (http://127.0.0.1:9/closed.png): download failed: [Errno 111] Connection refused",
        "line 7: url 'file:///etc/passwd' is not an absolute http or https URL",
        "line 8: url '/media/v/relative.jpg' is not an absolute http or https URL",
        'line 9: "url" must be a non-empty string',
        'line 10: missing "path" (or "url")',
    ]
    assert len(reasons) == len(expected)
    for reason, wanted in zip(reasons, expected, strict=True):
        assert reason.startswith(f"rejected urls.jsonl {wanted}"), reason
    image = Image.objects.get()
    assert (image.label, image.generator.name, image.format) == ("fake", "sd14", "PNG")
    assert image.source_path == f"{file_server}/ok.png"  # the signed query is not kept


def test_a_path_wins_over_a_url(file_server: str, tmp_path: Path) -> None:
    write_image(tmp_path / "local.png", size=(70, 50))
    manifest = tmp_path / "both.jsonl"
    line = {"path": "local.png", "url": f"{file_server}/ok.png", "label": "real", "scores": {}}
    manifest.write_text(json.dumps(line) + "\n")

    call_command("import_images", str(manifest), "--dataset", "d", stdout=StringIO())

    image = Image.objects.get()
    assert (image.width, image.height, image.source_path) == (70, 50, "local.png")
