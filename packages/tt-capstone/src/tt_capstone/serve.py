"""Draw a digit, watch the optimized MNIST model read it: a small local web app.

`serve(host, port, model_path, data)` starts a `ThreadingHTTPServer` (standard
library only) with three routes:

* `GET /`: a page with a canvas; each stroke sends the drawing to the server;
* `POST /api/predict`: JSON `{"width": W, "height": H, "pixels": [...]}` (or
  `"pixels_b64"`: the same W*H grey levels as base64 bytes), ink bright, values
  0-255. The drawing is framed like MNIST (`preprocess.preprocess_digit`) and
  classified; the answer holds the top-3 digits with their probabilities and
  the latency of the model and of the whole request;
* `GET /api/info`, `GET /health`: what model answers, and a liveness check.

Every request is validated (method, path, content type, declared size, JSON
shape, image dimensions, pixel values, base64) and a bad one gets a 4xx JSON
error; an unexpected failure gets a 500 JSON error; the server itself keeps
running. The compiled plan reuses its buffers, so model calls are serialised
with a lock; requests are otherwise handled in parallel.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tt_dataloader import MNIST
from tt_dataloader.fixtures import synthetic_digits
from tt_tensor import Tensor, save_tensors

from .deploy import MANIFEST_FILE, DeployedModel, deploy, load_deployed
from .models import MNIST_WEIGHTS, accuracy, build_mlp, load_mnist_mlp, train_classifier
from .preprocess import EmptyDrawingError, preprocess_digit

MAX_BODY_BYTES = 1 << 20  # a 512x512 drawing as a JSON list fits easily
MIN_SIDE, MAX_SIDE = 8, 512
DEPLOYED_DIR = os.path.join("runs", "2024_production", "mnist_deployed")
SERVE_DIR = os.path.join("runs", "serve")
REQUEST_KEYS = {"width", "height", "pixels", "pixels_b64", "return_image"}


class RequestError(Exception):
    """A client mistake: answered with `status` and a JSON `{"error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _int_field(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(400, f"'{key}' must be an integer, got {type(value).__name__}")
    if not MIN_SIDE <= value <= MAX_SIDE:
        raise RequestError(400, f"'{key}' must be between {MIN_SIDE} and {MAX_SIDE}, got {value}")
    return value


def parse_content_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def parse_predict_request(body: bytes) -> tuple[npt.NDArray[np.float64], bool]:
    """Validate a /api/predict body; returns the (height, width) drawing and `return_image`.

    Raises `RequestError(400, ...)` for anything malformed.
    """
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError(400, "the body is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise RequestError(400, f"the body is not valid JSON: {err.msg} at {err.pos}") from None
    if not isinstance(payload, dict):
        raise RequestError(400, f"the body must be a JSON object, got {type(payload).__name__}")
    unknown = sorted(set(payload) - REQUEST_KEYS)
    if unknown:
        raise RequestError(400, f"unknown field(s) {unknown}; allowed: {sorted(REQUEST_KEYS)}")
    width, height = _int_field(payload, "width"), _int_field(payload, "height")
    want = width * height
    has_list, has_b64 = "pixels" in payload, "pixels_b64" in payload
    if has_list == has_b64:
        raise RequestError(400, "send exactly one of 'pixels' (a list) and 'pixels_b64'")
    if has_list:
        raw = payload["pixels"]
        if not isinstance(raw, list):
            raise RequestError(400, f"'pixels' must be a list, got {type(raw).__name__}")
        if len(raw) != want:
            raise RequestError(400, f"'pixels' has {len(raw)} values, width*height is {want}")
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in raw):
            raise RequestError(400, "'pixels' must hold numbers only")
        arr = np.asarray(raw, dtype=np.float64)
    else:
        text = payload["pixels_b64"]
        if not isinstance(text, str):
            raise RequestError(400, f"'pixels_b64' must be a string, got {type(text).__name__}")
        try:
            data = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise RequestError(400, "'pixels_b64' is not valid base64") from None
        if len(data) != want:
            raise RequestError(400, f"'pixels_b64' decodes to {len(data)} bytes, expected {want}")
        arr = np.frombuffer(data, dtype=np.uint8).astype(np.float64)
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 255:
        raise RequestError(400, "pixel values must be finite numbers between 0 and 255")
    flag = payload.get("return_image", False)
    if not isinstance(flag, bool):
        raise RequestError(400, "'return_image' must be true or false")
    return arr.reshape(height, width), flag


@dataclass
class DigitClassifier:
    """A model answering (N, 1, 28, 28) digits with logits, and what to say about it."""

    model: Callable[[npt.NDArray[np.float32]], Tensor]
    description: str
    info: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def probabilities(self, digit: npt.NDArray[np.float32]) -> tuple[npt.NDArray[Any], float]:
        """Softmax over the ten digits for one 28x28 image, and the model's seconds."""
        x = np.ascontiguousarray(digit, dtype=np.float32).reshape(1, 1, 28, 28)
        with self._lock:
            start = time.perf_counter()
            logits = np.asarray(self.model(x).data, dtype=np.float64).reshape(-1)
            seconds = time.perf_counter() - start
        z = np.exp(logits - logits.max())
        return z / z.sum(), seconds

    def classify(self, drawing: npt.NDArray[Any], return_image: bool = False) -> dict[str, Any]:
        """The JSON answer for one drawing (2-D, 0-255, ink bright)."""
        start = time.perf_counter()
        digit = preprocess_digit(drawing)
        prep = time.perf_counter() - start
        probs, model_seconds = self.probabilities(digit)
        top = np.argsort(-probs, kind="stable")[:3]
        answer: dict[str, Any] = {
            "prediction": int(top[0]),
            "top3": [{"digit": int(d), "probability": float(probs[d])} for d in top],
            "latency_ms": {
                "preprocess": 1e3 * prep,
                "model": 1e3 * model_seconds,
                "total": 1e3 * (time.perf_counter() - start),
            },
        }
        if return_image:
            answer["image"] = np.round(digit, 3).tolist()
        return answer


def _page() -> bytes:
    return resources.files("tt_capstone").joinpath("static/index.html").read_bytes()


class DigitHandler(BaseHTTPRequestHandler):
    """Routes, validation and JSON errors; the classifier sits on the server object."""

    protocol_version = "HTTP/1.1"  # keep-alive: a load test need not reconnect per request
    server_version = "TinyTorchDigits/0.1"
    timeout = 15  # seconds a client may take to send its request (no slow-loris threads)
    # headers and body leave in separate writes: with Nagle's algorithm on, the body waits
    # for the client's delayed ACK (40 ms on Linux) on every keep-alive request
    disable_nagle_algorithm = True
    quiet = False

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes, content_type: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if status == 405:
            self.send_header("Allow", self._allowed())
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any], close: bool = False) -> None:
        body = json.dumps(payload, allow_nan=False).encode("utf-8")
        self._send(status, body, "application/json", close)

    def _error(self, status: int, message: str, close: bool = False) -> None:
        self._json(status, {"error": message, "status": status}, close)

    def _allowed(self) -> str:
        return "POST" if self.path.split("?", 1)[0] == "/api/predict" else "GET, HEAD"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (malformed request line, over-long headers,
        unknown method) as JSON too."""
        short = self.responses.get(code, ("error", ""))[0]
        self.log_error("code %d, message %s", code, message or short)
        self._json(code, {"error": message or short, "status": code}, close=True)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _guard(self, route: Callable[[], None]) -> None:
        try:
            route()
        except RequestError as err:
            self._error(err.status, err.message, close=err.status in (411, 413))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:  # never let one request take the server down
            self.log_message("internal error: %r", err)
            try:
                self._error(500, f"internal error: {type(err).__name__}", close=True)
            except OSError:
                self.close_connection = True

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:
        self._guard(self._get)

    def do_HEAD(self) -> None:
        self._guard(self._get)

    def do_POST(self) -> None:
        self._guard(self._post)

    def do_PUT(self) -> None:
        self._guard(self._not_allowed)

    def do_DELETE(self) -> None:
        self._guard(self._not_allowed)

    def do_PATCH(self) -> None:
        self._guard(self._not_allowed)

    def _not_allowed(self) -> None:
        self._discard_body()
        raise RequestError(405, f"{self.command} is not allowed here; use {self._allowed()}")

    def _discard_body(self) -> None:
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= MAX_BODY_BYTES:
            self.rfile.read(int(length))
        elif length:
            self.close_connection = True

    def _classifier(self) -> DigitClassifier:
        classifier: DigitClassifier = self.server.classifier  # type: ignore[attr-defined]
        return classifier

    def _get(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, _page(), "text/html; charset=utf-8")
        elif path == "/health":
            self._json(200, {"status": "ok"})
        elif path == "/api/info":
            c = self._classifier()
            self._json(200, {"model": c.description, **c.info})
        elif path == "/api/predict":
            raise RequestError(405, "use POST with a JSON body for /api/predict")
        else:
            raise RequestError(404, f"no such page: {path}")

    def _post(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != "/api/predict":
            self._discard_body()
            if path in ("/", "/index.html", "/health", "/api/info"):
                raise RequestError(405, f"POST is not allowed on {path}; use GET")
            raise RequestError(404, f"no such endpoint: {path}")
        if self.headers.get("Transfer-Encoding"):
            raise RequestError(411, "send the body with a Content-Length, not chunked")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise RequestError(411, "a Content-Length header is required")
        if not length_text.strip().isdigit():
            raise RequestError(400, f"invalid Content-Length {length_text!r}")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise RequestError(413, f"the body is {length} bytes; the limit is {MAX_BODY_BYTES}")
        body = self.rfile.read(length)
        if len(body) != length:
            raise RequestError(400, f"the body ended after {len(body)} of {length} bytes")
        ctype = parse_content_type(self.headers.get("Content-Type"))
        if ctype != "application/json":
            raise RequestError(
                415, f"Content-Type must be application/json, got {ctype or 'none'!r}"
            )
        drawing, return_image = parse_predict_request(body)
        try:
            answer = self._classifier().classify(drawing, return_image)
        except EmptyDrawingError as err:
            raise RequestError(422, str(err)) from None
        self._json(200, answer)


class DigitServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], classifier: DigitClassifier, quiet: bool = False
    ) -> None:
        handler = type("Handler", (DigitHandler,), {"quiet": quiet})
        super().__init__(address, handler)
        self.classifier = classifier

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"


def make_server(
    classifier: DigitClassifier, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False
) -> DigitServer:
    """A bound server (port 0 picks a free one: see `.server_address`); call serve_forever()."""
    return DigitServer((host, port), classifier, quiet)


# ---------------------------------------------------------------------- the model


def _mnist_arrays(
    data: str | os.PathLike[str] | None, train: bool
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]] | None:
    if MNIST.locate(data) is None:
        return None
    x, y = MNIST(data, train=train).as_tensors()
    return np.asarray(x.data, dtype=np.float32), np.asarray(y.data, dtype=np.int64)


def _calibration(data: str | os.PathLike[str] | None) -> npt.NDArray[np.float32]:
    """512 MNIST training digits, or (no data) 512 generated seven-segment digits:
    calibration only sets the int8 activation ranges."""
    found = _mnist_arrays(data, train=True)
    if found is not None:
        return found[0][:512]
    images, _ = synthetic_digits(512, seed=0)
    return (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)


def load_digit_model(
    model_path: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    *,
    log: Callable[[str], None] = print,
) -> DigitClassifier:
    """The optimized MNIST model the web app serves, found or made in this order:

    1. `model_path`: a deployed folder (with manifest.json), or milestone 1986's
       weights file (quantized and compiled here);
    2. `runs/2024_production/mnist_deployed/` (written by milestone 2024);
    3. `runs/1986_mlp_mnist/mlp_mnist.safetensors` (milestone 1986's weights);
    4. a quick MLP trained now on MNIST from the data root (about a minute),
       saved under `runs/serve/`;
    else FileNotFoundError, saying how to get one.
    """
    if model_path is not None:
        path = Path(model_path)
        if path.is_dir() or path.name == MANIFEST_FILE:
            return _from_deployed(load_deployed(path if path.is_dir() else path.parent))
        if path.is_file():
            return _from_weights(path, data, log)
        raise FileNotFoundError(f"model_path {path}: no such file or folder")
    if (Path(DEPLOYED_DIR) / MANIFEST_FILE).is_file():
        return _from_deployed(load_deployed(DEPLOYED_DIR))
    if Path(MNIST_WEIGHTS).is_file():
        return _from_weights(Path(MNIST_WEIGHTS), data, log)
    found = _mnist_arrays(data, train=True)
    if found is None:
        raise FileNotFoundError(
            "no MNIST model to serve: no deployed model in "
            f"{DEPLOYED_DIR}, no weights in {MNIST_WEIGHTS}, and no MNIST data to train one. "
            "Run `python milestones/m1986_mlp_mnist.py` (or m2024_production.py), pass "
            "model_path=..., or point data=/$TINYTORCH_DATA at a folder with mnist/*.gz."
        )
    x, y = found
    log(f"no trained MNIST model found: training a quick MLP on {x.shape[0]} MNIST digits")
    model = train_classifier(build_mlp((256, 128)), x, y, epochs=2, log=log)
    weights = Path(SERVE_DIR) / "mlp_mnist.safetensors"
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(model.state_dict(), weights)
    log(f"saved to {weights}")
    return _from_weights(weights, data, log)


def _from_deployed(deployed: DeployedModel) -> DigitClassifier:
    meta = deployed.metadata
    return DigitClassifier(
        deployed,
        str(meta.get("description", f"deployed model from {deployed.directory}")),
        {
            "source": str(deployed.directory),
            **{k: v for k, v in meta.items() if k != "description"},
        },
    )


def _from_weights(
    weights: Path, data: str | os.PathLike[str] | None, log: Callable[[str], None]
) -> DigitClassifier:
    model = load_mnist_mlp(weights)
    calib = _calibration(data)
    meta: dict[str, Any] = {
        "description": f"MLP from {weights}, int8 weights, fused inference plan",
        "weights": str(weights),
    }
    test = _mnist_arrays(data, train=False)
    out = Path(SERVE_DIR) / "mnist_deployed"
    deployed = deploy(model, calib, out, metadata=meta)
    if test is not None:
        acc = accuracy(deployed, test[0], test[1])
        deployed.manifest["metadata"]["test_accuracy"] = acc
        log(f"deployed model: {100 * acc:.2f}% on the {test[0].shape[0]} MNIST test digits")
    log(f"optimized model written to {out}")
    return _from_deployed(deployed)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    model_path: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    *,
    quiet: bool = False,
) -> None:
    """Start the digit-drawing web app and serve until interrupted (Ctrl-C)."""
    classifier = load_digit_model(model_path, data)
    server = make_server(classifier, host, port, quiet)
    print(f"serving {classifier.description}")
    print(f"open {server.url} and draw a digit (Ctrl-C stops the server)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    """`python -m tt_capstone.serve [--host H] [--port P] [--model PATH] [--data DIR]`."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m tt_capstone.serve", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", type=Path, default=None, help="deployed folder or MLP weights file")
    p.add_argument("--data", type=Path, default=None, help="data root holding mnist/")
    p.add_argument("--quiet", action="store_true", help="do not log every request")
    args = p.parse_args(argv)
    try:
        serve(args.host, args.port, args.model, args.data, quiet=args.quiet)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
