"""Every stable code raises its own exception class, with status, code, message, request id and
Retry-After: each code the local runner can produce, produced for real; all of them (and answers
that are not the broker's) from canned answers."""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from conftest import REPO, RecordingProxy, Runner, broker_error, closed_port

import fence_bucket_broker
from fence_bucket_broker import (
    ERROR_CLASSES,
    BrokerClient,
    BrokerError,
    BucketMisconfigured,
    BucketSuspended,
    CredentialsRejected,
    InvalidRequest,
    OperationNotAllowed,
    PayloadTooLarge,
    SecretBackendUnavailable,
    StoreUnavailable,
    UnknownBucket,
    UnknownRoute,
)
from fence_bucket_broker.errors import parse_retry_after

REQUEST_ID = re.compile(r"^[0-9a-f-]{36}$")


def error_codes_of_the_broker() -> dict[str, int]:
    """The stable codes of `functions/shared/errors.ts` (its ERROR_REFERENCE), each with its status."""
    source = (REPO / "functions/shared/errors.ts").read_text()
    table = source.split("export const ERROR_REFERENCE = {", 1)[1].split("\n} as const", 1)[0]
    codes = dict(re.findall(r"^  ([a-z_]+): \{\n    status: (\d+),", table, flags=re.MULTILINE))
    # Every class answers its code's status from that table (none states a number of its own).
    classes = re.findall(r"readonly code(?:: ErrorCode)? = '([a-z_]+)';\s*readonly status = ([^;]+);", source)
    assert {code for code, _ in classes} == set(codes), "every code has a class in errors.ts"
    for code, status in classes:
        assert status == f"ERROR_REFERENCE.{code}.status", (
            f"{code}'s class takes its status from ERROR_REFERENCE"
        )
    return {code: int(status) for code, status in codes.items()}


def test_every_code_of_the_broker_has_its_own_class_with_its_status() -> None:
    codes = error_codes_of_the_broker()
    openapi = json.loads((REPO / "docs/openapi.json").read_text())
    answer = openapi["paths"]["/v1/buckets/{bucket}/presign"]["post"]["responses"]["default"]
    documented = answer["content"]["application/json"]["schema"]["properties"]["error"]["properties"]["code"][
        "enum"
    ]

    assert sorted(ERROR_CLASSES) == sorted(codes)
    assert sorted(documented) == sorted(codes)
    for code, status in codes.items():
        cls = ERROR_CLASSES[code]
        assert issubclass(cls, BrokerError)
        assert cls is not BrokerError
        assert (code, status) == (cls.CODE, cls.STATUS)
        assert getattr(fence_bucket_broker, cls.__name__) is cls, f"{cls.__name__} is exported"


@pytest.mark.parametrize("code", sorted(error_codes_of_the_broker()))
def test_each_code_answered_raises_its_class_with_every_field(
    canned_server: RecordingProxy, code: str
) -> None:
    # Prepare
    status = error_codes_of_the_broker()[code]
    request_id = str(uuid.uuid4())
    headers = {"retry-after": "3"} if status in (429, 503) else {}
    canned_server.answer(
        status, {"error": {"code": code, "message": f"about {code}", "request_id": request_id}}, headers
    )
    client = BrokerClient(canned_server.url, max_retries=0)

    # Act
    with pytest.raises(BrokerError) as raised:
        client.presign("some-bucket", "key")

    # Assess
    error = raised.value
    assert type(error) is ERROR_CLASSES[code]
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        code,
        f"about {code}",
        request_id,
    )
    assert error.retry_after == (3.0 if status in (429, 503) else None)
    assert error.retryable is (status in (429, 503))
    assert code in str(error)
    assert request_id in str(error)


def test_a_code_this_release_does_not_know_raises_the_base_class(canned_server: RecordingProxy) -> None:
    canned_server.answer(418, broker_error("brewing_coffee", "a newer broker's code"))

    with pytest.raises(BrokerError) as raised:
        BrokerClient(canned_server.url).presign("some-bucket", "key")

    assert type(raised.value) is BrokerError
    assert (raised.value.status, raised.value.code) == (418, "brewing_coffee")
    assert raised.value.message == "a newer broker's code"


def test_an_answer_that_is_not_the_brokers_is_the_base_class_with_the_gateway_request_id(
    canned_server: RecordingProxy,
) -> None:
    # API Gateway's own refusal (an IAM denial) has its own shape, and its request id in a header.
    canned_server.answer(
        403,
        {"Message": "User: arn:aws:sts::1:assumed-role/x is not authorized"},
        {"x-amzn-RequestId": "gw-1"},
    )
    canned_server.answer(502, b"<html>Bad Gateway</html>", {"content-type": "text/html"})
    client = BrokerClient(canned_server.url, max_retries=0)

    with pytest.raises(BrokerError) as denied:
        client.presign("some-bucket", "key")
    with pytest.raises(BrokerError) as proxied:
        client.presign("some-bucket", "key")

    assert type(denied.value) is BrokerError
    assert (denied.value.status, denied.value.code, denied.value.request_id) == (
        403,
        "unexpected_answer",
        "gw-1",
    )
    assert "not authorized" in denied.value.message
    assert (proxied.value.status, proxied.value.code, proxied.value.request_id) == (
        502,
        "unexpected_answer",
        None,
    )
    assert "Bad Gateway" in proxied.value.message


def test_a_success_that_is_not_json_is_not_taken_for_an_answer(canned_server: RecordingProxy) -> None:
    canned_server.answer(200, b"<html>captive portal</html>", {"content-type": "text/html"})

    with pytest.raises(BrokerError) as raised:
        BrokerClient(canned_server.url).presign("some-bucket", "key")

    assert (raised.value.status, raised.value.code) == (200, "unexpected_answer")
    assert "captive portal" in raised.value.message


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)

    in_seconds = parse_retry_after("5")
    as_date = parse_retry_after(
        format_datetime(now + timedelta(seconds=30), usegmt=True), now=now.timestamp()
    )

    assert in_seconds == 5.0
    assert as_date == 30.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


class TestFromTheLocalRunner:
    """Each error the local runner produces on demand, through the client's public calls."""

    def test_unknown_bucket(self, client: BrokerClient) -> None:
        with pytest.raises(UnknownBucket) as raised:
            client.presign("never-registered", "k")

        assert raised.value.status == 404
        assert raised.value.message == 'no bucket named "never-registered" is registered'
        assert REQUEST_ID.match(raised.value.request_id or "")
        assert raised.value.retry_after is None

    def test_invalid_request_names_the_field(self, client: BrokerClient) -> None:
        with pytest.raises(InvalidRequest) as raised:
            client.presign("demo-bucket", "a/../b")

        assert raised.value.status == 400
        assert "key" in raised.value.message

    def test_operation_not_allowed(self, client: BrokerClient, runner: Runner) -> None:
        bucket = runner.register(["download"])

        with pytest.raises(OperationNotAllowed) as raised:
            client.presign(bucket, "k", "PUT")

        assert raised.value.status == 403

    def test_bucket_suspended_through_the_admin_api(self, client: BrokerClient, runner: Runner) -> None:
        bucket = runner.register(["download"])
        assert client.presign(bucket, "k").url

        runner.patch(bucket, status="suspended")

        # The local runner's registry cache holds a record for 2 s: the suspension shows within it.
        with pytest.raises(BucketSuspended) as raised:
            _until_raised(lambda: client.presign(bucket, "k"))
        assert raised.value.status == 409
        assert bucket in raised.value.message

    def test_unknown_route_for_a_wrong_base_url(self, runner: Runner) -> None:
        with pytest.raises(UnknownRoute) as raised:
            BrokerClient(f"{runner.url}/prod").presign("demo-bucket", "k")

        assert raised.value.status == 404

    def test_payload_too_large(self, client: BrokerClient) -> None:
        with pytest.raises(PayloadTooLarge) as raised:
            client.presign("demo-bucket", "k" * (7 * 1024 * 1024))

        assert raised.value.status == 413

    def test_credentials_rejected_by_the_store(self, client: BrokerClient, runner: Runner) -> None:
        bucket = runner.register(
            ["multipart"], keys={"access_key_id": "nobody", "secret_access_key": "x" * 40}
        )

        with pytest.raises(CredentialsRejected) as raised:
            client.multipart.create(bucket, "k")

        assert raised.value.status == 502

    def test_bucket_misconfigured_by_a_malformed_secret(self, client: BrokerClient, runner: Runner) -> None:
        bucket = runner.register(["download"])
        runner.secret_path(bucket).write_text('{"access_key_id": "only-half"}')

        with pytest.raises(BucketMisconfigured) as raised:
            client.presign(bucket, "k")

        assert raised.value.status == 502
        assert "secret_access_key" in raised.value.message
        assert "only-half" not in raised.value.message

    def test_secret_backend_unavailable_carries_retry_after(self, runner: Runner) -> None:
        # Prepare: the bucket's secret file cannot be read (a directory stands in its place).
        bucket = runner.register(["download"])
        secret = runner.secret_path(bucket)
        secret.unlink()
        secret.mkdir()
        try:
            # Act
            with pytest.raises(SecretBackendUnavailable) as raised:
                BrokerClient(runner.url, max_retries=0).presign(bucket, "k")
        finally:
            shutil.rmtree(secret)

        # Assess
        assert raised.value.status == 503
        assert raised.value.retry_after == 5.0
        assert raised.value.retryable

    def test_store_unavailable_carries_retry_after(self, runner: Runner) -> None:
        bucket = runner.register(["multipart"], endpoint=f"http://127.0.0.1:{closed_port()}")

        with pytest.raises(StoreUnavailable) as raised:
            BrokerClient(runner.url, max_retries=0).multipart.create(bucket, "k")

        assert raised.value.status == 503
        assert raised.value.retry_after == 2.0


def _until_raised(call: Callable[[], object], attempts: int = 100) -> None:
    """Calls `call` until it raises (every 0.1 s, at most `attempts` times)."""
    for _ in range(attempts):
        call()
        time.sleep(0.1)
    pytest.fail("never raised")
