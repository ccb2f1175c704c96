"""Fence's side of the deployed suite: the project's Python client (``fence_bucket_broker``) called
as Fence calls it, with operations given as JSON on stdin and their results printed as JSON.

Run with the client's venv (``clients/python/venv.sh`` prints its python)::

    echo '[{"op": "presign", "bucket": "b", "key": "k", "method": "PUT"}]' | python fence_client.py

The client is built by ``BrokerClient.from_env()`` from ``FENCE_BUCKET_BROKER_URL`` and
``FENCE_BUCKET_BROKER_REGION``, as a Fence pod's settings build it, and signs with botocore's chain:
the caller gives fixed fake credentials in ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, and this
script refuses to run when any other source of credentials is set, so a developer's own never sign.

Operations (each answers ``{"ok": …}``, or ``{"error": {"class", "code", "status", "message",
"request_id"}}`` when the client raised a ``BrokerError``):

- ``presign``: ``bucket``, ``key``, ``method``, ``content_type?`` → the ``PresignedUrl``
- ``presign_batch``: ``bucket``, ``items`` [{``key``, ``method``}] → a URL or an error per item
- ``multipart_create``: ``bucket``, ``key`` → ``upload_id``
- ``multipart_part_urls``: ``bucket``, ``key``, ``upload_id``, ``part_numbers`` → [{``part_number``, ``url``}]
- ``multipart_complete``: ``bucket``, ``key``, ``upload_id``, ``parts`` [{``part_number``, ``etag``}] → ``etag``
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from fence_bucket_broker import (
    BrokerClient,
    BrokerError,
    CompletedPart,
    MultipartUpload,
    PresignedUrl,
    PresignItem,
)

# Anything that would let botocore find credentials other than the fixed ones the test gives.
FOREIGN_CREDENTIAL_SOURCES = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def url_json(result: PresignedUrl) -> dict[str, Any]:
    return {
        "url": result.url,
        "method": result.method,
        "headers": dict(result.headers),
        "expires_at": result.expires_at.isoformat(),
    }


def error_json(error: BrokerError) -> dict[str, Any]:
    return {
        "class": type(error).__name__,
        "code": error.code,
        "status": error.status,
        "message": error.message,
        "request_id": error.request_id,
    }


def run(client: BrokerClient, operation: dict[str, Any]) -> Any:  # noqa: ANN401
    op = operation["op"]
    bucket = operation["bucket"]
    if op == "presign":
        return url_json(
            client.presign(
                bucket,
                operation["key"],
                operation.get("method", "GET"),
                content_type=operation.get("content_type"),
            )
        )
    if op == "presign_batch":
        items = [PresignItem(item["key"], item.get("method", "GET")) for item in operation["items"]]
        return [
            {"error": error_json(result)} if isinstance(result, BrokerError) else {"ok": url_json(result)}
            for result in client.presign_batch(bucket, items)
        ]
    if op == "multipart_create":
        return {"upload_id": client.multipart.create(bucket, operation["key"]).upload_id}
    upload = MultipartUpload(bucket=bucket, key=operation["key"], upload_id=operation["upload_id"])
    if op == "multipart_part_urls":
        return [
            {"part_number": part.part_number, "url": part.url}
            for part in client.multipart.part_urls(upload, operation["part_numbers"])
        ]
    if op == "multipart_complete":
        parts = [CompletedPart(part["part_number"], part["etag"]) for part in operation["parts"]]
        return {"etag": client.multipart.complete(upload, parts)}
    raise ValueError(f"unknown operation {op!r}")


def main() -> None:
    foreign = [name for name in FOREIGN_CREDENTIAL_SOURCES if os.environ.get(name)]
    if foreign:
        sys.exit(f"refusing to sign with credentials other than the test's: {', '.join(foreign)} is set")
    if (
        os.environ.get("AWS_CONFIG_FILE") != os.devnull
        or os.environ.get("AWS_SHARED_CREDENTIALS_FILE") != os.devnull
    ):
        sys.exit("AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE must be /dev/null: no profile may sign")
    operations = json.load(sys.stdin)
    results: list[Any] = []
    # No retries: the suite asserts each answer as the broker gave it.
    with BrokerClient.from_env(max_retries=0) as client:
        for operation in operations:
            try:
                results.append({"ok": run(client, operation)})
            except BrokerError as error:
                results.append({"error": error_json(error)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
