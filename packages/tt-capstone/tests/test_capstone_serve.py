"""The web app: request validation, and a live server answering good and bad requests."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tt_capstone.deploy import deploy
from tt_capstone.models import build_mlp
from tt_capstone.serve import (
    MAX_BODY_BYTES,
    DigitClassifier,
    DigitServer,
    RequestError,
    _from_deployed,
    load_digit_model,
    make_server,
    parse_predict_request,
)
from tt_dataloader.fixtures import synthetic_digits
from tt_tensor import manual_seed


def stroke(size: int = 112) -> np.ndarray:
    img = np.zeros((size, size), dtype=np.uint8)
    img[size // 5 : 4 * size // 5, size // 2 - 6 : size // 2 + 6] = 255
    return img


def body(img: np.ndarray, **extra: Any) -> bytes:
    h, w = img.shape
    return json.dumps({"width": w, "height": h, "pixels": img.ravel().tolist(), **extra}).encode()


# ------------------------------------------------------------------ validation


def test_parse_accepts_list_and_base64_pixels() -> None:
    img = stroke(16)
    a, flag = parse_predict_request(body(img))
    assert a.shape == (16, 16) and not flag
    b64 = base64.b64encode(img.tobytes()).decode()
    payload = {"width": 16, "height": 16, "pixels_b64": b64, "return_image": True}
    b, flag = parse_predict_request(json.dumps(payload).encode())
    np.testing.assert_array_equal(a, b)
    assert flag


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"width": 16, "height": 16}).encode(), "exactly one of"),
        (
            json.dumps({"width": 16, "height": 16, "pixels": [0] * 256, "pixels_b64": ""}).encode(),
            "exactly one of",
        ),
        (
            json.dumps({"width": "16", "height": 16, "pixels": []}).encode(),
            "'width' must be an int",
        ),
        (
            json.dumps({"width": True, "height": 16, "pixels": []}).encode(),
            "'width' must be an int",
        ),
        (json.dumps({"width": 4, "height": 16, "pixels": []}).encode(), "between 8 and 512"),
        (json.dumps({"width": 16, "height": 9000, "pixels": []}).encode(), "between 8 and 512"),
        (json.dumps({"width": 16, "height": 16, "pixels": [0] * 10}).encode(), "has 10 values"),
        (json.dumps({"width": 8, "height": 8, "pixels": ["a"] * 64}).encode(), "numbers only"),
        (json.dumps({"width": 8, "height": 8, "pixels": [[0]] * 64}).encode(), "numbers only"),
        (json.dumps({"width": 8, "height": 8, "pixels": [300] * 64}).encode(), "between 0 and 255"),
        (json.dumps({"width": 8, "height": 8, "pixels": [-1] * 64}).encode(), "between 0 and 255"),
        (json.dumps({"width": 8, "height": 8, "pixels": {}}).encode(), "must be a list"),
        (json.dumps({"width": 8, "height": 8, "pixels_b64": "***"}).encode(), "not valid base64"),
        (json.dumps({"width": 8, "height": 8, "pixels_b64": "AAAA"}).encode(), "decodes to 3"),
        (json.dumps({"width": 8, "height": 8, "pixels_b64": 5}).encode(), "must be a string"),
        (json.dumps({"width": 8, "height": 8, "pixels": [0] * 64, "x": 1}).encode(), "unknown"),
        (
            json.dumps({"width": 8, "height": 8, "pixels": [0] * 64, "return_image": 1}).encode(),
            "true or false",
        ),
        (b"1e999", "JSON object"),
    ],
)
def test_parse_rejects_bad_requests(payload: bytes, match: str) -> None:
    with pytest.raises(RequestError, match=match) as info:
        parse_predict_request(payload)
    assert info.value.status == 400


# ------------------------------------------------------------------ live server


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> DigitClassifier:
    manual_seed(0)
    images, _ = synthetic_digits(64, seed=0)
    calib = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    folder = tmp_path_factory.mktemp("deployed")
    deployed = deploy(build_mlp((32,)), calib, folder, metadata={"description": "test MLP"})
    return _from_deployed(deployed)


@pytest.fixture(scope="module")
def server(classifier: DigitClassifier) -> Iterator[DigitServer]:
    srv = make_server(classifier, port=0, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def request(
    server: DigitServer,
    method: str,
    path: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        conn.request(method, path, body=data, headers=headers or {})
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


JSON = {"Content-Type": "application/json"}


def test_predict_returns_top3_and_latency(server: DigitServer) -> None:
    status, headers, raw = request(
        server, "POST", "/api/predict", body(stroke(), return_image=True), JSON
    )
    assert status == 200, raw
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(raw)
    top = answer["top3"]
    assert len(top) == 3 and len({t["digit"] for t in top}) == 3
    probs = [t["probability"] for t in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
    assert answer["prediction"] == top[0]["digit"]
    lat = answer["latency_ms"]
    assert 0 < lat["model"] <= lat["total"]
    assert np.asarray(answer["image"]).shape == (28, 28)


def test_prediction_matches_the_classifier(
    server: DigitServer, classifier: DigitClassifier
) -> None:
    img = stroke(64)
    _, _, raw = request(server, "POST", "/api/predict", body(img), JSON)
    direct = classifier.classify(img.astype(np.float64))
    assert json.loads(raw)["top3"] == direct["top3"]


def test_pages(server: DigitServer) -> None:
    status, headers, raw = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<canvas id="pad"' in raw
    status, _, raw = request(server, "GET", "/api/info")
    assert status == 200 and json.loads(raw)["model"] == "test MLP"
    assert request(server, "GET", "/health")[0] == 200
    status, headers, raw = request(server, "HEAD", "/")
    assert status == 200 and raw == b""


@pytest.mark.parametrize(
    "method, path, data, headers, status",
    [
        ("GET", "/nope", None, {}, 404),
        ("POST", "/nope", b"{}", JSON, 404),
        ("GET", "/api/predict", None, {}, 405),
        ("PUT", "/api/predict", b"{}", JSON, 405),
        ("DELETE", "/", None, {}, 405),
        ("POST", "/", b"{}", JSON, 405),
        ("POST", "/api/predict", b"{}", {"Content-Type": "text/plain"}, 415),
        ("POST", "/api/predict", b"{}", {}, 415),
        ("POST", "/api/predict", b"{", JSON, 400),
        ("POST", "/api/predict", body(np.zeros((32, 32), np.uint8)), JSON, 422),
    ],
)
def test_bad_requests_get_json_errors(
    server: DigitServer,
    method: str,
    path: str,
    data: bytes | None,
    headers: dict[str, str],
    status: int,
) -> None:
    got, head, raw = request(server, method, path, data, headers)
    assert got == status, raw
    assert head["Content-Type"] == "application/json"
    err = json.loads(raw)
    assert err["status"] == status and err["error"]
    if status == 405:
        assert "Allow" in head


def raw_exchange(server: DigitServer, payload: bytes) -> bytes:
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as s:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_size_limit_and_length_header(server: DigitServer) -> None:
    too_big = (
        f"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    ).encode()
    reply = raw_exchange(server, too_big)  # refused before the body is read
    assert reply.startswith(b"HTTP/1.1 413")
    no_length = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n"
    assert raw_exchange(server, no_length).startswith(b"HTTP/1.1 411")
    bad_length = (
        b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: -5\r\nConnection: close\r\n\r\n"
    )
    assert raw_exchange(server, bad_length).startswith(b"HTTP/1.1 400")
    chunked = (
        b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    assert raw_exchange(server, chunked).startswith(b"HTTP/1.1 411")
    garbage = raw_exchange(server, b"\x00\x01garbage\r\n\r\n")
    assert b'"status": 400' in garbage  # a malformed request line: answered as HTTP/0.9, in JSON


def test_keep_alive_and_concurrency(server: DigitServer) -> None:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        for _ in range(5):  # one connection, many requests
            conn.request("POST", "/api/predict", body=body(stroke(40)), headers=JSON)
            res = conn.getresponse()
            assert res.status == 200
            res.read()
    finally:
        conn.close()
    errors: list[object] = []

    def client() -> None:
        try:
            for _ in range(10):
                status, _, _ = request(server, "POST", "/api/predict", body(stroke(48)), JSON)
                if status != 200:
                    errors.append(status)
        except Exception as err:  # any failure fails the test below
            errors.append(err)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert request(server, "GET", "/health")[0] == 200  # still up after all of the above


def test_load_digit_model_refuses_without_model_or_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no MNIST model to serve"):
        load_digit_model(None, tmp_path / "no-data", log=lambda _: None)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_digit_model(tmp_path / "missing.safetensors", None, log=lambda _: None)


def test_load_digit_model_from_weights_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Milestone 1986's weights: quantized and compiled on the spot (no MNIST: generated digits
    calibrate), then served from the deployed folder."""
    from tt_tensor import save_tensors

    monkeypatch.chdir(tmp_path)
    manual_seed(1)
    model = build_mlp((24,))
    save_tensors(model.state_dict(), tmp_path / "mlp.safetensors")
    c = load_digit_model(tmp_path / "mlp.safetensors", tmp_path / "no-data", log=lambda _: None)
    answer = c.classify(stroke(30).astype(np.float64))
    assert len(answer["top3"]) == 3
    again = load_digit_model(tmp_path / "runs" / "serve" / "mnist_deployed", log=lambda _: None)
    assert again.classify(stroke(30).astype(np.float64))["top3"] == answer["top3"]
