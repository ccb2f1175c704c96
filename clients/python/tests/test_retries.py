"""Retries: 429 and 503 after Retry-After, connection failures after a jittered backoff, nothing
else; requests counted at a recording proxy in front of the local runner."""

from __future__ import annotations

import shutil

import pytest
import requests
from conftest import RecordedRequest, RecordingProxy, Runner, broker_error, closed_port

from fence_bucket_broker import (
    BrokerClient,
    BrokerError,
    BrokerUnreachable,
    BucketSuspended,
    CredentialsRejected,
    InvalidRequest,
    SecretBackendUnavailable,
    Throttled,
    UnknownBucket,
)


def test_a_503_with_retry_after_is_retried_after_it_and_then_succeeds(
    proxy: RecordingProxy, sleeps: list[float]
) -> None:
    # Prepare: the first answer is a 503 with Retry-After; the proxy forwards the next one.
    proxy.answer(503, broker_error("secret_backend_unavailable"), {"retry-after": "1"})
    client = BrokerClient(proxy.url, sleep=sleeps.append)

    # Act
    signed = client.presign("demo-bucket", "py/after-503")

    # Assess: two requests, one wait of at least the Retry-After (plus at most 10 % jitter).
    assert signed.method == "GET"
    assert [request.status for request in proxy.requests] == [503, 200]
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 1.1


def test_a_429_without_retry_after_is_retried_after_a_jittered_backoff(
    proxy: RecordingProxy, sleeps: list[float]
) -> None:
    proxy.answer(429, {"message": "Too Many Requests"})  # API Gateway's throttle: no Retry-After
    proxy.answer(429, broker_error("throttled"))
    client = BrokerClient(proxy.url, max_retries=2, sleep=sleeps.append)

    signed = client.presign("demo-bucket", "py/after-429")

    assert signed.url
    assert [request.status for request in proxy.requests] == [429, 429, 200]
    # Full jitter: attempt n waits uniformly in [0, 0.5 s x 2^n].
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0


def test_retries_run_out_and_the_last_error_is_raised(
    canned_server: RecordingProxy, sleeps: list[float]
) -> None:
    for _ in range(3):
        canned_server.answer(503, broker_error("secret_backend_unavailable"), {"retry-after": "2"})
    client = BrokerClient(canned_server.url, max_retries=2, sleep=sleeps.append)

    with pytest.raises(SecretBackendUnavailable) as raised:
        client.presign("demo-bucket", "k")

    assert len(canned_server.requests) == 3
    assert len(sleeps) == 2
    assert raised.value.retry_after == 2.0


def test_a_retry_after_longer_than_the_client_waits_is_raised_at_once(
    canned_server: RecordingProxy, sleeps: list[float]
) -> None:
    canned_server.answer(429, broker_error("throttled"), {"retry-after": "120"})
    client = BrokerClient(canned_server.url, max_retry_wait=10, sleep=sleeps.append)

    with pytest.raises(Throttled) as raised:
        client.presign("demo-bucket", "k")

    assert len(canned_server.requests) == 1
    assert sleeps == []
    assert raised.value.retry_after == 120.0


def test_a_404_is_not_retried(proxy: RecordingProxy, sleeps: list[float]) -> None:
    client = BrokerClient(proxy.url, max_retries=3, sleep=sleeps.append)

    with pytest.raises(UnknownBucket):
        client.presign("never-registered", "k")

    assert [request.status for request in proxy.requests] == [404]
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "invalid_request", InvalidRequest),
        (409, "bucket_suspended", BucketSuspended),
        (502, "credentials_rejected", CredentialsRejected),
        (500, "internal_error", BrokerError),
    ],
)
def test_no_other_error_is_retried(
    canned_server: RecordingProxy, sleeps: list[float], status: int, code: str, expected: type[BrokerError]
) -> None:
    canned_server.answer(status, broker_error(code), {"retry-after": "1"})

    with pytest.raises(expected):
        BrokerClient(canned_server.url, max_retries=3, sleep=sleeps.append).presign("demo-bucket", "k")

    assert len(canned_server.requests) == 1
    assert sleeps == []


def test_a_refused_connection_is_retried_then_raised_as_unreachable(sleeps: list[float]) -> None:
    client = BrokerClient(f"http://127.0.0.1:{closed_port()}", max_retries=2, sleep=sleeps.append)

    with pytest.raises(BrokerUnreachable) as raised:
        client.multipart.create("demo-bucket", "k")  # never sent, so safe to resend even here

    assert len(sleeps) == 2
    assert raised.value.status is None
    assert raised.value.retryable
    assert isinstance(raised.value.__cause__, requests.ConnectionError)


def test_a_read_timeout_is_retried_for_a_presign_but_not_for_a_multipart_create(
    proxy: RecordingProxy, sleeps: list[float]
) -> None:
    # Prepare: the proxy holds the first request of each call unanswered.
    client = BrokerClient(proxy.url, timeout=(5.0, 0.5), max_retries=2, sleep=sleeps.append)

    # Act
    proxy.hang = 1
    signed = client.presign("demo-bucket", "py/after-timeout")
    presign_requests = len(proxy.requests)
    proxy.hang = 1
    with pytest.raises(BrokerUnreachable) as raised:
        client.multipart.create("demo-bucket", "py/not-twice")

    # Assess: the presign was sent again; the create, which may have started an upload, was not.
    assert signed.url
    assert presign_requests == 2
    assert len(proxy.requests) == 3
    assert isinstance(raised.value.__cause__, requests.ReadTimeout)


def test_a_real_503_of_the_broker_is_retried_after_its_retry_after_once_the_backend_is_back(
    runner: Runner, proxy: RecordingProxy
) -> None:
    # Prepare: the bucket's secret file is unreadable (a directory stands in its place) until the
    # broker has answered 503; then the proxy puts the secret back before passing the answer on.
    bucket = runner.register(["download"])
    secret = runner.secret_path(bucket)
    keys = secret.read_bytes()
    secret.unlink()
    secret.mkdir()

    def restore_after_the_503(request: RecordedRequest) -> None:
        if request.status == 503 and secret.is_dir():
            shutil.rmtree(secret)
            secret.write_bytes(keys)

    proxy.after_response = restore_after_the_503
    client = BrokerClient(proxy.url, max_retries=1)  # really waits the broker's Retry-After: 5 s

    # Act
    signed = client.presign(bucket, "k")

    # Assess
    assert signed.method == "GET"
    assert [request.status for request in proxy.requests] == [503, 200]
