"""End to end in a real browser: headless Chromium draws strokes on the page's canvas.

Chromium is driven through the Chrome DevTools Protocol over its websocket,
with a small client written on the standard library (no selenium, no
websocket package): mouse events go in as a user's would, the page turns them
into canvas strokes, downsamples, posts to the server, and renders the answer
into the DOM, which is read back. Skipped, visibly, without /usr/bin/chromium.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest
from tt_capstone.deploy import deploy
from tt_capstone.models import build_mlp, train_classifier
from tt_capstone.serve import DigitClassifier, DigitServer, _from_deployed, make_server
from tt_dataloader import MNIST
from tt_dataloader.fixtures import synthetic_digits

CHROMIUM = os.environ.get("TT_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"{CHROMIUM} not found: browser test skipped (apt-get install chromium)",
)


class CDP:
    """The smallest useful DevTools client: one websocket, request/response by id."""

    def __init__(self, ws_url: str, timeout: float = 30.0) -> None:
        u = urlparse(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")
        self.next_id = 0

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("DevTools closed the websocket")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _message(self) -> dict[str, Any]:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8))
            payload = self._read(n)  # frames from the server are never masked
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the websocket")
            parts.append(payload)
            if b0 & 0x80:
                message: dict[str, Any] = json.loads(b"".join(parts))
                return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self._send_frame(
            0x1, json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        )
        while True:
            msg = self._message()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result

    def js(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                        awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"the page never satisfied {expression!r}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[str]:
    """A headless Chromium; yields its DevTools HTTP endpoint."""
    profile = tempfile.mkdtemp(prefix="tt-chromium-")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=900,900",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    endpoint = None
    deadline = time.monotonic() + 60
    try:
        while endpoint is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                if proc.poll() is not None:
                    break
                continue
            if "DevTools listening on ws://" in line:
                u = urlparse(line.split("DevTools listening on ", 1)[1].strip())
                endpoint = f"http://{u.hostname}:{u.port}"
        if endpoint is None:
            pytest.fail(f"chromium did not start (exit code {proc.poll()})")
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


class Recorder(DigitClassifier):
    """The served classifier, keeping every drawing it was sent."""

    drawings: list[np.ndarray]

    def classify(self, drawing: np.ndarray, return_image: bool = False) -> dict[str, Any]:
        self.drawings.append(np.array(drawing))
        return super().classify(drawing, return_image)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DigitServer, Recorder, bool]]:
    """A server with a model trained on real MNIST when it is found (else generated digits)."""
    real = MNIST.locate() is not None
    if real:
        xs, ys = MNIST(train=True).get_batch(np.arange(6000))
        x, y = np.asarray(xs.data), np.asarray(ys.data)
    else:
        images, y = synthetic_digits(2000, seed=0)
        x = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    model = train_classifier(build_mlp((128,)), x, y, epochs=2, batch_size=100)
    deployed = deploy(model, x[:256], tmp_path_factory.mktemp("d"), metadata={"description": "t"})
    base = _from_deployed(deployed)
    rec = Recorder(base.model, base.description, base.info)
    rec.drawings = []
    srv = make_server(rec, port=0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv, rec, real
    srv.shutdown()
    srv.server_close()


def open_page(endpoint: str, url: str) -> CDP:
    req = urllib.request.Request(f"{endpoint}/json/new?{url}", method="PUT")
    with urllib.request.urlopen(req, timeout=30) as res:
        target = json.loads(res.read())
    cdp = CDP(target["webSocketDebuggerUrl"])
    cdp.call("Page.enable")
    cdp.wait_for("document.readyState === 'complete' && !!document.getElementById('pad')")
    return cdp


def drag(cdp: CDP, points: list[tuple[float, float]]) -> None:
    """One stroke: press at the first point, move through the rest, release at the last."""
    x0, y0 = points[0]
    cdp.call("Input.dispatchMouseEvent", type="mousePressed", x=x0, y=y0, button="left",
             buttons=1, clickCount=1)  # fmt: skip
    for x, y in points[1:]:
        cdp.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
    x1, y1 = points[-1]
    cdp.call("Input.dispatchMouseEvent", type="mouseReleased", x=x1, y=y1, button="left",
             buttons=0, clickCount=1)  # fmt: skip


def shown(cdp: CDP) -> dict[str, Any]:
    return dict(
        cdp.js(
            "({prediction: document.getElementById('prediction').textContent,"
            " top3: [...document.querySelectorAll('#top3 li')].map(li => li.dataset.digit),"
            " latency: document.getElementById('latency').textContent,"
            " error: document.getElementById('error').textContent,"
            " status: document.getElementById('status').textContent})"
        )
    )


def test_draw_a_digit_in_a_real_browser(
    browser: str, served: tuple[DigitServer, Recorder, bool]
) -> None:
    server, recorder, real = served
    cdp = open_page(browser, server.url)
    try:
        rect = cdp.js("(() => { const r = document.getElementById('pad').getBoundingClientRect();"
                      " return {x: r.left, y: r.top, w: r.width, h: r.height}; })()")  # fmt: skip
        x, y, w, h = rect["x"], rect["y"], rect["w"], rect["h"]
        # a "1": one vertical stroke down the middle, drawn in small steps like a hand would
        steps = [(x + 0.5 * w, y + h * (0.15 + 0.7 * t / 20)) for t in range(21)]
        drag(cdp, steps)
        cdp.wait_for(
            "window.lastResult && document.getElementById('status').textContent === 'done'"
        )
        page = shown(cdp)
        assert len(recorder.drawings) >= 1
        drawing = recorder.drawings[-1]
        assert drawing.shape == (112, 112)  # what the page sends: its canvas, downsampled
        ys, xs = np.nonzero(drawing > 64)
        assert ys.max() - ys.min() > 3 * (xs.max() - xs.min())  # tall and thin: the stroke
        direct = recorder.classify(drawing)  # the same drawing through the model, no browser
        assert page["prediction"] == str(direct["prediction"])
        assert page["top3"] == [str(t["digit"]) for t in direct["top3"]]
        assert "model" in page["latency"] and "ms" in page["latency"] and page["error"] == ""
        if real:
            assert page["prediction"] == "1", f"an MNIST-trained model read {page}"

        # clear, then ask for a classification of the empty canvas: a 422, shown as an error
        cdp.js("document.getElementById('clear').click()")
        cdp.js("document.getElementById('classify').click()")
        cdp.wait_for("document.getElementById('status').textContent === 'error'")
        page = shown(cdp)
        assert "empty" in page["error"] and page["prediction"] == "?"
        assert cdp.js("window.lastError.status") == 422

        # a "7": a stroke across the top, then down to the lower left (two strokes, one answer each)
        drag(cdp, [(x + w * (0.25 + 0.5 * t / 10), y + 0.2 * h) for t in range(11)])
        drag(
            cdp, [(x + w * (0.75 - 0.3 * t / 10), y + h * (0.2 + 0.6 * t / 10)) for t in range(11)]
        )
        cdp.wait_for(
            "window.lastResult && document.getElementById('status').textContent === 'done'"
        )
        time.sleep(0.2)
        cdp.wait_for("document.getElementById('status').textContent === 'done'")
        final = recorder.classify(recorder.drawings[-1])
        assert shown(cdp)["prediction"] == str(final["prediction"])
    finally:
        cdp.close()
