"""Starts Gen3 Fence on a config file and asks its ``/data/download/<guid>`` for a URL.

Run by test/fence/fence-on-migrated-config.test.ts with the venv ``npm run test:fence`` builds,
in the patched Fence source, with ``FENCE_CONFIG_PATH`` naming the config (Fence loads it at
import), ``FENCE_BUCKET_BROKER_URL`` the broker, and ``DB`` the database. Fence is started as its
own tests start it (``app_init`` with the config file, its test keys), and indexd is mocked as they
mock it: ``IndexedFile.index_document`` patched to return the record. The record is public (acl
``*``), so the download needs no token. Prints ``{"status", "body"}`` of Fence's answer as JSON.

Usage: python fence_download.py <guid> <s3 url>
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from unittest import mock


def main() -> None:
    guid, url = sys.argv[1], sys.argv[2]
    sys.path.insert(0, str(Path.cwd()))
    import fence

    fence.app_init(
        fence.app,
        root_dir=str(Path.cwd() / "tests"),
        config_path=os.environ["FENCE_CONFIG_PATH"],
    )
    record = {
        "did": guid,
        "baseid": "",
        "rev": "",
        "size": 12,
        "file_name": url.rsplit("/", 1)[-1],
        "version": "",
        "uploader": None,
        "urls": [url],
        "acl": ["*"],
        "authz": [],
        "hashes": {},
        "form": "object",
        "created_date": "",
        "updated_date": "",
    }
    with mock.patch(
        "fence.blueprints.data.indexd.IndexedFile.index_document",
        new_callable=mock.PropertyMock,
        return_value=record,
    ):
        answer = fence.app.test_client().get(f"/data/download/{guid}")
    print(json.dumps({"status": answer.status_code, "body": answer.get_json(silent=True)}))


if __name__ == "__main__":
    main()
