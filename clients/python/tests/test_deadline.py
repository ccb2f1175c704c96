"""The deadline of one call: every attempt, its connect and read timeouts and the waits between
attempts fit in it, so a hung broker fails Fence's request before gunicorn's 30 s worker timeout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pytest
import requests
from conftest import RecordingProxy, broker_error, closed_port
from requests.adapters import HTTPAdapter
from urllib3.util import Timeout as AttemptTimeout

from fence_bucket_broker import BROKER_DEADLINE_ENV, BrokerClient, BrokerUnreachable, SecretBackendUnavailable
from fence_bucket_broker.client import DEFAULT_DEADLINE


class SilentServer:
    """A loopback TCP server that accepts every connection and never answers (a hung broker)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            self.connections.append(connection)  # held open, never read, never answered

    def close(self) -> None:
        self._listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


@dataclass
class Attempt:
    started: float
    #: The longest the attempt may wait, connecting and reading together.
    budget: float


class AttemptRecorder(HTTPAdapter):
    """requests' own adapter, noting when each attempt starts and the timeout it was given."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(max_retries=0)
        self._clock = clock
        self.attempts: list[Attempt] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self.attempts.append(Attempt(self._clock(), _budget(timeout)))
        return super().send(request, stream, timeout, verify, cert, proxies)


def _budget(timeout: object) -> float:
    """How long an attempt with ``timeout`` may wait at most: its total, else connect plus read."""
    if isinstance(timeout, AttemptTimeout) and isinstance(timeout.total, (int, float)):
        return float(timeout.total)
    if isinstance(timeout, tuple):
        return float(sum(timeout))
    return 2 * float(timeout) if isinstance(timeout, (int, float)) else float("inf")


def recording_session(clock: Callable[[], float]) -> tuple[requests.Session, AttemptRecorder]:
    session = requests.Session()
    recorder = AttemptRecorder(clock)
    session.mount("http://", recorder)
    return session, recorder


class FakeClock:
    """A monotonic clock that moves only when the client sleeps (attempts take no time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_broker_that_accepts_and_never_answers_fails_unreachable_within_the_deadline(
    silent_server: SilentServer, sleeps: list[float]
) -> None:
    # Prepare: the default per-attempt timeouts (5 s connect, 15 s read) and retries, a 2 s deadline.
    deadline = 2.0
    session, recorder = recording_session(time.monotonic)
    client = BrokerClient(
        silent_server.url, deadline=deadline, max_retries=2, http=session, sleep=sleeps.append
    )

    # Act
    started = time.monotonic()
    with pytest.raises(BrokerUnreachable) as raised:
        client.presign("demo-bucket", "k")
    elapsed = time.monotonic() - started

    # Assess: every attempt reached the silent server and was given only what was left of the
    # deadline when it started (before: three attempts of 5 s + 15 s each, 46 s in all).
    assert recorder.attempts
    assert len(silent_server.connections) == len(recorder.attempts)
    for attempt in recorder.attempts:
        assert attempt.started - started + attempt.budget <= deadline + 0.05
    assert isinstance(raised.value.__cause__, requests.ReadTimeout)
    assert "deadline" in raised.value.message
    # A generous guard only: the logical check above is the test.
    assert elapsed < deadline + 10


def test_retries_after_connection_failures_stop_where_the_deadline_would_be_passed() -> None:
    # Prepare: nothing listens, so every attempt fails at once; the clock moves only by the waits.
    clock = FakeClock()
    session, recorder = recording_session(clock)
    client = BrokerClient(
        f"http://127.0.0.1:{closed_port()}",
        deadline=2.0,
        max_retries=50,
        http=session,
        sleep=clock.sleep,
        clock=clock,
    )

    # Act
    with pytest.raises(BrokerUnreachable) as raised:
        client.presign("demo-bucket", "k")

    # Assess: far fewer than 51 attempts, the waits fit in the deadline, and each attempt started
    # before it with a timeout that ends by it.
    ends_at = 1000.0 + 2.0
    assert sum(clock.sleeps) < 2.0
    assert 1 < len(recorder.attempts) < 51
    assert len(recorder.attempts) == len(clock.sleeps) + 1
    for attempt in recorder.attempts:
        assert attempt.started < ends_at
        assert attempt.started + attempt.budget == pytest.approx(ends_at)
    assert isinstance(raised.value.__cause__, requests.ConnectionError)


def test_a_retry_after_that_would_outlast_the_deadline_is_raised_at_once(
    canned_server: RecordingProxy,
) -> None:
    # Prepare: two 503s asking for 1 s each; 1.5 s of deadline leave room for one wait only.
    for _ in range(2):
        canned_server.answer(503, broker_error("secret_backend_unavailable"), {"retry-after": "1"})
    clock = FakeClock()
    client = BrokerClient(canned_server.url, deadline=1.5, max_retries=5, sleep=clock.sleep, clock=clock)

    # Act
    with pytest.raises(SecretBackendUnavailable) as raised:
        client.presign("demo-bucket", "k")

    # Assess: waited once, then raised the second 503 (with its Retry-After) instead of waiting.
    assert len(canned_server.requests) == 2
    assert len(clock.sleeps) == 1
    assert raised.value.retry_after == 1.0


def test_the_deadline_defaults_to_20_s_and_comes_from_the_environment() -> None:
    url = {"FENCE_BUCKET_BROKER_URL": "http://127.0.0.1:8787"}

    assert DEFAULT_DEADLINE == 20.0  # under gunicorn's 30 s worker timeout
    assert BrokerClient.from_env(url)._deadline == DEFAULT_DEADLINE
    assert BrokerClient.from_env({**url, BROKER_DEADLINE_ENV: "7.5"})._deadline == 7.5
    with pytest.raises(ValueError, match=r"FENCE_BUCKET_BROKER_DEADLINE must be a number of seconds"):
        BrokerClient.from_env({**url, BROKER_DEADLINE_ENV: "soon"})
    with pytest.raises(ValueError, match=r"deadline must be a positive number of seconds"):
        BrokerClient.from_env({**url, BROKER_DEADLINE_ENV: "0"})
