"""Fixtures: `npm start`'s local runner with a real MinIO, its admin API, and a recording proxy.

The runner is started once per session as `npm start` starts it (``node --import tsx bin/local.ts``),
on a free port, with ``FENCE_DEMO_STORE=minio`` (the MinIO that ``scripts/install-test-services.sh``
builds: without it the runner refuses to start and every test fails, never skips) and a fresh
``FENCE_LOCAL_DIR``. It does not check SigV4; the proxy below records what the client signs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from fence_bucket_broker import BrokerClient

REPO = Path(__file__).resolve().parents[3]
RUNNER_READY = re.compile(r"presign API on (http://127\.0\.0\.1:\d+)")
STORE_READY = re.compile(r"demo-bucket lives on (http://127\.0\.0\.1:\d+) \(MinIO\)")

# Signing needs credentials, and tests must not find a developer's own: fixed, fake ones.
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDPYTHONCLIENTTEST",
    "AWS_SECRET_ACCESS_KEY": "python-client-test-secret-key-0000000000",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def pytest_configure(config: pytest.Config) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        os.environ.pop(name, None)
    os.environ.update(TEST_CREDENTIALS)


@dataclass
class Runner:
    """The local runner: its URL, its data directory, and the demo bucket's MinIO."""

    url: str
    local_dir: Path
    store_endpoint: str

    @property
    def demo_keys(self) -> dict[str, str]:
        """The demo bucket's keys: MinIO's root credentials in the local runner."""
        keys: dict[str, str] = json.loads(
            (self.local_dir / "secrets/gen3/fence/minio/demo-bucket").read_text()
        )
        return keys

    def secret_path(self, bucket: str) -> Path:
        return self.local_dir / f"secrets/gen3/fence/minio/{bucket}"

    def register(
        self,
        allowed_ops: list[str],
        *,
        bucket: str | None = None,
        keys: dict[str, str] | None = None,
        endpoint: str | None = None,
        validate: bool = False,
    ) -> str:
        """Registers a bucket through the admin API with its keys written as a secret; its name."""
        name = bucket or f"py-{uuid.uuid4().hex[:12]}"
        body = {
            "bucket_name": name,
            "provider": "minio",
            "auth_mode": "static",
            "secrets_backend": "k8s",
            "endpoint": endpoint or self.store_endpoint,
            "region": "us-east-1",
            "allowed_ops": allowed_ops,
            "create_secret": True,
            "secret": keys or self.demo_keys,
        }
        answer = requests.post(
            f"{self.url}/v1/admin/buckets",
            params={} if validate else {"validate": "false"},
            json=body,
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        return name

    def patch(self, bucket: str, **changes: Any) -> None:
        record = requests.get(f"{self.url}/v1/admin/buckets/{bucket}", timeout=30).json()
        answer = requests.patch(
            f"{self.url}/v1/admin/buckets/{bucket}",
            json={"revision": record["revision"], **changes},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    local_dir = tmp_path_factory.mktemp("fence-local")
    env = {
        **os.environ,
        "PORT": "0",
        "FBB_LOCAL_HOST": "127.0.0.1",
        "FENCE_LOCAL_DIR": str(local_dir),
        "FENCE_DEMO_STORE": "minio",
        "FENCE_DEMO_STORE_PORT": "0",
    }
    node = shutil.which("node")
    assert node is not None, "node is required: the local runner is the broker's own TypeScript"
    process = subprocess.Popen(
        [node, "--import", "tsx", "bin/local.ts"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    url = store = None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while (url is None or store is None) and time.monotonic() < deadline:
        line = process.stderr.readline()
        if line == "" and process.poll() is not None:
            break
        seen.append(line)
        url = url or _group(RUNNER_READY, line)
        store = store or _group(STORE_READY, line)
    if url is None or store is None:
        process.kill()
        pytest.fail(
            "the local runner did not start with MinIO (run `npm run services:install`):\n" + "".join(seen)
        )
    # Keep reading its output (audit lines), so a full pipe never blocks it.
    threading.Thread(target=process.stderr.read, daemon=True).start()
    try:
        yield Runner(url=url, local_dir=local_dir, store_endpoint=store)
    finally:
        process.send_signal(signal.SIGTERM)  # the runner stops MinIO, then exits
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _group(pattern: re.Pattern[str], line: str) -> str | None:
    match = pattern.search(line)
    return match.group(1) if match else None


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a client asked for (tests count them rather than sleep)."""
    return []


@pytest.fixture
def client(runner: Runner) -> Iterator[BrokerClient]:
    with BrokerClient(runner.url) as broker:
        yield broker


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class Canned:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class RecordingProxy:
    """An HTTP server on loopback in front of `target`: it records every request, answers the
    next ones from `canned` (503 + Retry-After, say) while any are left, forwards the others, and
    can hold a request unanswered (`hang`) to make the client time out."""

    def __init__(self, target: str | None) -> None:
        self.target = target
        self.requests: list[RecordedRequest] = []
        self.canned: list[Canned] = []
        self.hang = 0
        self.after_response: Callable[[RecordedRequest], None] | None = None
        self._release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy._serve(self)

            do_GET = do_PATCH = do_POST  # noqa: N815 (http.server's names)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length)
        record = RecordedRequest(handler.command, handler.path, dict(handler.headers.items()), body)
        self.requests.append(record)
        if self.hang > 0:
            self.hang -= 1
            self._release.wait(60)
            return
        if self.canned:
            answer = self.canned.pop(0)
        else:
            assert self.target is not None, "no canned answer left and nothing to forward to"
            forwarded = requests.request(
                handler.command,
                self.target + handler.path,
                data=body,
                headers={"content-type": handler.headers.get("content-type", "application/json")},
                timeout=60,
            )
            keep = {"content-type", "retry-after", "allow"}
            headers = {name: value for name, value in forwarded.headers.items() if name.lower() in keep}
            answer = Canned(forwarded.status_code, forwarded.content, headers)
        record.status = answer.status
        if self.after_response is not None:
            self.after_response(record)
        handler.send_response(answer.status)
        for name, value in {"content-type": "application/json", **answer.headers}.items():
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)

    def answer(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        """Queues a canned answer (JSON `body`, or bytes as they are)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.canned.append(Canned(status, raw, headers or {}))

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def proxy(runner: Runner) -> Iterator[RecordingProxy]:
    recording = RecordingProxy(runner.url)
    try:
        yield recording
    finally:
        recording.close()


@pytest.fixture
def canned_server() -> Iterator[RecordingProxy]:
    """A server that only answers what the test queues (no runner behind it)."""
    recording = RecordingProxy(None)
    try:
        yield recording
    finally:
        recording.close()


def broker_error(code: str, message: str = "from a canned answer") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": str(uuid.uuid4())}}


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
