"""Where signed requests may go: ``https``, plain ``http`` to this machine only, and never where a
redirect points (the signed headers, session token included, would go with it)."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.session
import pytest
from conftest import RecordingProxy

from fence_bucket_broker import BrokerClient, BrokerError


@pytest.fixture
def elsewhere() -> Iterator[RecordingProxy]:
    """Another server (another host name and port) that a redirect points to; it records what
    reaches it and would answer as the broker does."""
    server = RecordingProxy(None)
    server.answer(
        200,
        {
            "url": "https://planted.example/x",
            "method": "GET",
            "headers": {},
            "expires_at": "2030-01-01T00:00:00Z",
        },
    )
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://broker.example.org/prod",
        "http://10.0.0.5:8787",
        "http://169.254.169.254/latest",
        "http://127.0.0.1.nip.io:8787",
        "HTTP://broker.example.org",
        "ftp://broker.example.org/",
        "broker.example.org/prod",
        "https:///prod",
    ],
)
def test_a_base_url_that_is_not_https_or_loopback_http_is_refused(url: str) -> None:
    with pytest.raises(
        ValueError, match=r"must be https:// \(plain http:// only to 127\.0\.0\.1, localhost or \[::1\]\)"
    ):
        BrokerClient(url)


def test_from_env_refuses_a_plain_http_url_too() -> None:
    with pytest.raises(ValueError, match=r"must be https://.*not http://broker\.example\.org"):
        BrokerClient.from_env({"FENCE_BUCKET_BROKER_URL": "http://broker.example.org/prod"})


@pytest.mark.parametrize(
    "url",
    [
        "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod",
        "https://broker.example.org",
        "http://127.0.0.1:8787",
        "http://127.1.2.3:8787/prod",
        "http://localhost:8787",
        "http://LOCALHOST:8787",
        "http://[::1]:8787",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert BrokerClient(url, region="us-east-1").base_url == url.rstrip("/")


def test_a_307_to_another_host_is_not_followed_and_no_signed_header_reaches_it(
    canned_server: RecordingProxy, elsewhere: RecordingProxy
) -> None:
    # Prepare: the "broker" redirects to another host name and port, keeping the method and body.
    target = elsewhere.url.replace("127.0.0.1", "localhost") + "/v1/buckets/demo-bucket/presign"
    canned_server.answer(307, b"", {"location": target})
    session = botocore.session.Session()
    session.set_credentials("ASIATEMPORARY0000001", "temporary-secret", "the-session-token")
    client = BrokerClient(canned_server.url, session=session, region="us-east-1", max_retries=2)

    # Act
    error: BrokerError | None = None
    try:
        client.presign("demo-bucket", "py/redirected")
    except BrokerError as raised:
        error = raised

    # Assess: nothing reached the other host (before: the POST, its X-Amz-Security-Token
    # included); one request to the broker (a redirect is not retried).
    assert [request.headers for request in elsewhere.requests] == []
    assert len(canned_server.requests) == 1
    assert "x-amz-security-token" in {name.lower() for name in canned_server.requests[0].headers}
    assert error is not None
    assert (error.status, error.code) == (307, "unexpected_answer")
    assert error.message.startswith("a 307 redirect to http://localhost, which the client does not follow")
    assert "the-session-token" not in str(error)


@pytest.mark.parametrize("status", [301, 302, 303, 308])
def test_no_redirect_is_followed_whatever_its_status(
    canned_server: RecordingProxy, elsewhere: RecordingProxy, status: int
) -> None:
    canned_server.answer(status, b"", {"location": elsewhere.url + "/anywhere"})

    with pytest.raises(BrokerError) as raised:
        BrokerClient(canned_server.url, max_retries=0).presign("demo-bucket", "py/redirected")

    assert raised.value.status == status
    assert elsewhere.requests == []
