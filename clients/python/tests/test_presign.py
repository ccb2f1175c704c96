"""presign and presign_batch against the local runner, each URL fetched from the real MinIO."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest
import requests
from conftest import Runner

from fence_bucket_broker import (
    AuditUser,
    BrokerClient,
    InvalidRequest,
    OperationNotAllowed,
    PresignedUrl,
    PresignItem,
)


@pytest.fixture(scope="module")
def download_only(runner: Runner) -> str:
    """`my-dataset` (an empty bucket of the local MinIO), registered for download only, holding
    one object written with the store's own keys."""
    runner.register(["download"], bucket="my-dataset", validate=True)
    # botocore-stubs types clients as BaseClient; put_object exists at run time.
    s3: Any = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=runner.store_endpoint,
        region_name="us-east-1",
        aws_access_key_id=runner.demo_keys["access_key_id"],
        aws_secret_access_key=runner.demo_keys["secret_access_key"],
    )
    s3.put_object(Bucket="my-dataset", Key="reads/sample.txt", Body=b"read-only data")
    return "my-dataset"


def test_presigned_put_get_and_head_reach_minio(client: BrokerClient) -> None:
    # Prepare
    content = os.urandom(1024)

    # Act
    put = client.presign("demo-bucket", "py/round-trip.bin", "PUT", content_type="application/octet-stream")
    stored = requests.put(put.url, data=content, headers=dict(put.headers), timeout=30)
    get = client.presign("demo-bucket", "py/round-trip.bin")
    head = client.presign("demo-bucket", "py/round-trip.bin", method="HEAD")
    fetched = requests.get(get.url, timeout=30)
    headed = requests.head(head.url, timeout=30)

    # Assess
    assert isinstance(put, PresignedUrl)
    assert (put.method, get.method, head.method) == ("PUT", "GET", "HEAD")
    assert put.headers == {"content-type": "application/octet-stream"}
    assert stored.status_code == 200, stored.text
    assert fetched.status_code == 200
    assert fetched.content == content
    assert headed.status_code == 200
    assert headed.headers["content-length"] == "1024"


def test_a_url_is_refused_when_its_signed_header_is_not_sent(client: BrokerClient) -> None:
    put = client.presign("demo-bucket", "py/typed.bin", "PUT", content_type="text/plain")

    refused = requests.put(put.url, data=b"x", headers={"content-type": "image/png"}, timeout=30)

    assert refused.status_code == 403


def test_expires_at_is_an_aware_datetime_clamped_to_the_bucket_maximum(client: BrokerClient) -> None:
    before = datetime.now(timezone.utc)

    short = client.presign("demo-bucket", "py/any", expires_in=60)
    long = client.presign("demo-bucket", "py/any", expires_in=7 * 24 * 3600)

    after = datetime.now(timezone.utc)
    assert short.expires_at.tzinfo is not None
    assert before + timedelta(seconds=59) <= short.expires_at <= after + timedelta(seconds=61)
    # The demo bucket's max_expires_in is the default 3600 s.
    assert long.expires_at <= after + timedelta(seconds=3601)


def test_the_user_and_requester_pays_are_signed_into_the_url(client: BrokerClient) -> None:
    signed = client.presign(
        "demo-bucket",
        "py/audited",
        user=AuditUser(user_id="42", username="alice", client_id="fence-test"),
        purpose="pytest",
        requester_pays=True,
    )

    query = parse_qs(urlsplit(signed.url).query)
    assert query["user_id"] == ["42"]
    assert query["username"] == ["alice"]
    assert query["client_id"] == ["fence-test"]
    assert query["x-amz-request-payer"] == ["requester"]
    assert "X-Amz-SignedHeaders" in query


def test_a_batch_answers_every_item_in_place(client: BrokerClient, download_only: str) -> None:
    # Act
    results = client.presign_batch(
        download_only,
        [
            PresignItem("reads/sample.txt"),
            PresignItem("reads/new.txt", method="PUT"),
            PresignItem("reads/../escape"),
            PresignItem("reads/sample.txt", method="HEAD", user=AuditUser("7", "bob")),
        ],
    )

    # Assess: signed URLs where allowed, the item's own error elsewhere, in order.
    assert len(results) == 4
    first, refused, invalid, head = results
    assert isinstance(first, PresignedUrl)
    assert requests.get(first.url, timeout=30).content == b"read-only data"
    assert isinstance(refused, OperationNotAllowed)
    assert (refused.code, refused.status) == ("operation_not_allowed", 403)
    assert isinstance(invalid, InvalidRequest)
    assert "key" in invalid.message
    assert isinstance(head, PresignedUrl)
    assert head.method == "HEAD"
    assert requests.head(head.url, timeout=30).status_code == 200
