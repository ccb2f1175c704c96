"""Starts Gen3 Fence on a config file and uploads through its ``/data/upload/<guid>`` and
``/data/multipart/*`` routes as a signed-in user with upload permission on the record.

Run by test/fence/fence-on-migrated-config.test.ts like ``fence_download.py`` (same environment).
Fence is started and driven as its own tests drive it, with the helpers of its test tree
(``tests/`` of the checkout ``npm run test:fence`` built; nothing of Fence is kept here):

- its database is migrated by alembic, and the user is created in it by ``tests.utils.create_user`` from
  ``tests/resources/authorized_users.json``, as the ``user_client`` fixture does;
- its access token carries ``tests.utils.authorized_upload_context_claims``, signed with the test
  keypair ``app_init`` loads from ``tests/keys``, as the tests sign theirs;
- indexd is mocked as the ``indexd_client`` fixture mocks it (``IndexedFile.index_document`` and
  ``BlankIndex.index_document`` replaced by the record), and arborist as
  ``mock_arborist_requests`` mocks it (gen3authz's HTTP request), answering whether the user may
  act on the record's ``authz``. Every question asked of arborist is reported.

The presigned URLs come from the broker through the patch; part bodies are PUT to the store with
``requests``, real HTTP. Prints one JSON line: each answer of Fence, the part URLs and ETags, and
arborist's questions.

Usage: python fence_upload.py <guid> <bucket> <seed>
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from unittest import mock

#: A multipart part other than the last must be at least 5 MiB (S3's rule, and MinIO's).
PART_SIZE = 5 * 1024 * 1024
#: The record's authorization resource: what arborist is asked about.
AUTHZ = ["/programs/broker/projects/uploads"]


def multipart_parts(seed: str) -> list[bytes]:
    """The two parts uploaded: 5 MiB of the seed repeated, then a short tail (the test rebuilds them)."""
    unit = seed.encode()
    return [(unit * (PART_SIZE // len(unit) + 1))[:PART_SIZE], f"tail {seed}".encode()]


def main() -> None:
    guid, bucket, seed = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, str(Path.cwd()))
    import fence
    import jwt
    import requests
    from alembic.config import main as alembic_main

    fence.app_init(
        fence.app,
        root_dir=str(Path.cwd() / "tests"),
        config_path=os.environ["FENCE_CONFIG_PATH"],
    )
    # Fence's tables, migrated as the `app` fixture migrates them (alembic reads TEST_CONFIG_PATH).
    os.environ["TEST_CONFIG_PATH"] = os.environ["FENCE_CONFIG_PATH"]
    alembic_main(["--raiseerr", "upgrade", "head"])
    from tests import utils

    # The user_client fixture's user, in Fence's database (has_oauth looks it up by the token's sub).
    with fence.app.db.session as session:
        users = dict(json.loads(utils.read_file("resources/authorized_users.json")))
        user_id, username = utils.create_user(users, session, is_admin=True)
    keypair = fence.app.keypairs[0]
    token = jwt.encode(
        utils.authorized_upload_context_claims(username, user_id),
        key=keypair.private_key,
        headers={"kid": keypair.kid},
        algorithm="RS256",
    )
    headers = {"Authorization": f"Bearer {token}"}

    # Arborist, as mock_arborist_requests answers it; `allow` is what it says to /auth/request.
    arborist: dict[str, Any] = {"allow": True, "asked": []}

    def arborist_request(method: str, url: str, *args: object, **kwargs: object) -> mock.MagicMock:
        answer = mock.MagicMock(requests.Response)
        if method.upper() == "POST" and url.endswith("/auth/request"):
            body = kwargs.get("json")
            arborist["asked"].append(body.get("requests") if isinstance(body, dict) else None)
            answer.status_code = 200
            answer.json.return_value = {"auth": arborist["allow"]}
        else:
            answer.status_code = 404
            answer.text = "NOT FOUND"
        return answer

    record = {
        "did": guid,
        "baseid": "",
        "rev": "",
        "size": None,
        "file_name": None,
        "version": "",
        "uploader": None,
        "urls": [],
        "acl": [],
        "authz": AUTHZ,
        "hashes": {},
        "form": "object",
        "created_date": "",
        "updated_date": "",
    }
    client = fence.app.test_client()
    report: dict[str, Any] = {}
    with (
        mock.patch("gen3authz.client.arborist.client.httpx.Client.request", side_effect=arborist_request),
        mock.patch("fence.blueprints.data.indexd.IndexedFile.index_document", record),
        mock.patch("fence.blueprints.data.indexd.BlankIndex.index_document", record),
    ):
        # A user arborist refuses first: Fence must answer before any URL is signed.
        arborist["allow"] = False
        denied = client.get(
            f"/data/upload/{guid}",
            query_string={"bucket": bucket, "file_name": "denied.bin"},
            headers=headers,
        )
        report["denied"] = {"status": denied.status_code, "body": denied.get_json(silent=True)}
        arborist["allow"] = True

        upload = client.get(
            f"/data/upload/{guid}", query_string={"bucket": bucket, "file_name": "reads.bam"}, headers=headers
        )
        report["upload"] = {"status": upload.status_code, "body": upload.get_json(silent=True)}

        file_name = "multipart.bin"
        init = client.post(
            "/data/multipart/init",
            json={"file_name": file_name, "guid": guid, "bucket": bucket},
            headers=headers,
        )
        report["init"] = {"status": init.status_code, "body": init.get_json(silent=True)}
        upload_id = (init.get_json(silent=True) or {}).get("uploadId")
        key = f"{guid}/{file_name}"
        parts = []
        report["parts"] = []
        for number, body in enumerate(multipart_parts(seed), start=1):
            part = client.post(
                "/data/multipart/upload",
                json={"key": key, "uploadId": upload_id, "partNumber": number, "bucket": bucket},
                headers=headers,
            )
            url = (part.get_json(silent=True) or {}).get("presigned_url")
            stored = requests.put(url, data=body, timeout=60) if url else None
            etag = stored.headers.get("ETag") if stored is not None else None
            report["parts"].append(
                {
                    "status": part.status_code,
                    "url": url,
                    "store_status": stored.status_code if stored is not None else None,
                    "etag": etag,
                }
            )
            # Fence's documented shape of a part ("Etag"), which its clients send.
            parts.append({"Etag": etag, "PartNumber": number})
        complete = client.post(
            "/data/multipart/complete",
            json={"key": key, "uploadId": upload_id, "parts": parts, "bucket": bucket},
            headers=headers,
        )
        report["complete"] = {"status": complete.status_code, "body": complete.get_json(silent=True)}
        report["multipart_key"] = key
    report["arborist"] = arborist["asked"]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
