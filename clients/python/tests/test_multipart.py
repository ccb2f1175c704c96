"""Multipart uploads through the broker, parts PUT to the real MinIO."""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from fence_bucket_broker import BrokerClient, CompletedPart, InvalidRequest, MultipartUpload, PartUrl

PART_SIZE = 5 * 1024 * 1024  # S3's smallest part but the last


def test_a_three_part_upload_of_5_mib_parts_completes_into_one_object(client: BrokerClient) -> None:
    # Prepare
    parts = [os.urandom(PART_SIZE) for _ in range(3)]

    # Act
    upload = client.multipart.create(
        "demo-bucket", "py/multipart.bin", content_type="application/octet-stream"
    )
    urls = client.multipart.part_urls(upload, [1, 2, 3], expires_in=600)
    etags = []
    for url, data in zip(urls, parts):
        answer = requests.put(url.url, data=data, timeout=120)
        assert answer.status_code == 200, answer.text
        etags.append(CompletedPart(url.part_number, answer.headers["ETag"]))
    # Out of order on purpose: complete sorts them, as S3 requires.
    etag = client.multipart.complete(upload, list(reversed(etags)))
    stored = requests.get(client.presign("demo-bucket", "py/multipart.bin").url, timeout=120)

    # Assess
    assert isinstance(upload, MultipartUpload)
    assert (upload.bucket, upload.key) == ("demo-bucket", "py/multipart.bin")
    assert upload.upload_id
    assert [url.part_number for url in urls] == [1, 2, 3]
    assert all(isinstance(url, PartUrl) for url in urls)
    assert etag.strip('"').endswith("-3")
    assert stored.status_code == 200
    assert hashlib.sha256(stored.content).digest() == hashlib.sha256(b"".join(parts)).digest()


def test_an_aborted_upload_cannot_be_completed(client: BrokerClient) -> None:
    # Prepare: an upload with one part in it.
    upload = client.multipart.create("demo-bucket", "py/aborted.bin")
    (part,) = client.multipart.part_urls(upload, [1])
    answer = requests.put(part.url, data=b"first part", timeout=30)

    # Act
    client.multipart.abort(upload)

    # Assess: the store dropped the upload, so completing it is refused, and no object appeared.
    with pytest.raises(InvalidRequest) as refused:
        client.multipart.complete(upload, [CompletedPart(1, answer.headers["ETag"])])
    assert refused.value.status == 400
    assert "NoSuchUpload" in refused.value.message
    fetched = requests.get(client.presign("demo-bucket", "py/aborted.bin").url, timeout=30)
    assert fetched.status_code == 404
