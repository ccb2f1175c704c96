"""The change to Fence that docs/fence.md shows, applied to a stand-in of Fence's `indexd.py` and called the way
Fence calls it; every URL fetched from the real MinIO.

The stand-in has the shape of Fence's module (the names and signatures the change touches, and
the way `from_url` and `BlankIndex` construct `S3IndexedFileLocation`), written for this test:
Fence itself needs Flask, a database and cloud clients. Its own signing no longer has keys (they
moved to the broker), except for a public `cred: '*'` bucket, which it serves unsigned.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import RecordingProxy, Runner, broker_error
from readme import added_lines, doc_block

FENCE_ERRORS = """
class APIError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = str(message)


class UserError(APIError):
    code = 400


class Unauthorized(APIError):
    code = 401


class Forbidden(APIError):
    code = 403


class NotFound(APIError):
    code = 404


class InternalError(APIError):
    code = 500


class UnavailableError(APIError):
    code = 503
"""

STAND_IN_HEAD = """
from urllib.parse import urlparse

from fence.errors import InternalError, Unauthorized

config = {
    "DATA_UPLOAD_BUCKET": "demo-bucket",
    "S3_BUCKETS": {
        "demo-bucket": {"cred": "CRED1", "requester_pays": True},
        "open-data": {"cred": "*"},
    },
}
fence_own_calls = []
"""

STAND_IN_BODY = """
class IndexedFileLocation(object):
    def __init__(self, url):
        self.url = url
        self.parsed_url = urlparse(url)
        self.protocol = self.parsed_url.scheme

    @staticmethod
    def from_url(url):
        if urlparse(url).scheme == "s3":
            return S3IndexedFileLocation(url)
        return IndexedFileLocation(url)


class S3IndexedFileLocation(IndexedFileLocation):
    def bucket_name(self):
        return self.parsed_url.netloc

    def get_signed_url(self, action, expires_in, force_signed_url=True, authorized_user=None, **kwargs):
        fence_own_calls.append(("get_signed_url", self.url))
        bucket = config["S3_BUCKETS"].get(self.parsed_url.netloc)
        if bucket is None:
            raise Unauthorized("permission denied for bucket")
        if bucket["cred"] == "*":
            return "https://{}.s3.amazonaws.com/{}".format(self.parsed_url.netloc, self.parsed_url.path.strip("/"))
        raise InternalError("aws credential of that bucket is not found")

    def init_multipart_upload(self, expires_in):
        fence_own_calls.append(("init_multipart_upload", self.url))
        raise InternalError("aws credential of that bucket is not found")

    def delete(self, bucket, file_id):
        fence_own_calls.append(("delete", bucket, file_id))
        return ("", 204)


class BlankIndex(object):
    def __init__(self, guid):
        self.guid = guid

    def make_signed_url(self, file_name, protocol=None, expires_in=None, bucket=None):
        bucket = bucket or config["DATA_UPLOAD_BUCKET"]
        s3_url = "s3://{}/{}/{}".format(bucket, self.guid, file_name)
        return S3IndexedFileLocation(s3_url).get_signed_url("upload", expires_in)

    @staticmethod
    def init_multipart_upload(key, expires_in=None, bucket=None):
        s3_url = "s3://{}/{}".format(bucket or config["DATA_UPLOAD_BUCKET"], key)
        return S3IndexedFileLocation(s3_url).init_multipart_upload(expires_in)

    @staticmethod
    def generate_aws_presigned_url_for_part(key, uploadId, partNumber, expires_in, bucket=None):
        s3_url = "s3://{}/{}".format(bucket or config["DATA_UPLOAD_BUCKET"], key)
        return S3IndexedFileLocation(s3_url).generate_presigned_url_for_part_upload(uploadId, partNumber, expires_in)

    @staticmethod
    def complete_multipart_upload(key, uploadId, parts, expires_in=None, bucket=None):
        s3_url = "s3://{}/{}".format(bucket or config["DATA_UPLOAD_BUCKET"], key)
        S3IndexedFileLocation(s3_url).complete_multipart_upload(uploadId, parts, expires_in)


def _get_auth_info_for_id_or_from_request(sub_type=str, user=None, username=None, db_session=None):
    if user:
        return {"user_id": sub_type(user.id), "username": user.username, "client_id": "fence-portal"}
    return {"user_id": "anonymous", "username": "anonymous", "client_id": ""}
"""


@dataclass
class User:
    """What Fence passes as `authorized_user`: its User model's id and username."""

    id: int
    username: str


def fence_with_the_readme_change(tmp_path: Path, name: str) -> ModuleType:
    """The stand-in `indexd.py` with the page's added lines: its imports after the module's
    own, its block after the last class (where the diff's hunks say)."""
    imports, block = added_lines(doc_block("docs/fence.md", "## Calling from Fence", "diff"))
    package = tmp_path / "fence"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "errors.py").write_text(FENCE_ERRORS)
    source = "\n".join([STAND_IN_HEAD, *imports, STAND_IN_BODY, *block, ""])
    module_file = tmp_path / f"{name}.py"
    module_file.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, module_file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fence_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: Runner) -> Iterator[ModuleType]:
    monkeypatch.setenv("FENCE_BUCKET_BROKER_URL", runner.url)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield fence_with_the_readme_change(tmp_path, f"indexd_{uuid.uuid4().hex}")
    finally:
        for module in ("fence", "fence.errors"):
            sys.modules.pop(module, None)


def test_the_readme_shows_a_change_of_a_few_lines() -> None:
    hunks = added_lines(doc_block("docs/fence.md", "## Calling from Fence", "diff"))

    assert len(hunks) == 2
    assert sum(len(hunk) for hunk in hunks) <= 16
    assert "S3IndexedFileLocation = BrokerS3IndexedFileLocation.bind(" in "\n".join(hunks[1])


def test_a_download_url_from_from_url_carries_the_user_and_fetches_the_object(
    fence_module: Any,
    runner: Runner,
) -> None:
    # Prepare: an object in the demo bucket, uploaded through Fence's upload flow.
    guid = uuid.uuid4().hex
    upload_url = fence_module.BlankIndex(guid).make_signed_url("reads.bam", expires_in=300)
    assert requests.put(upload_url, data=b"sequencing reads", timeout=30).status_code == 200

    # Act: as IndexedFile._get_signed_url calls a location.
    location = fence_module.IndexedFileLocation.from_url(f"s3://demo-bucket/{guid}/reads.bam")
    url = location.get_signed_url(
        "download", 300, force_signed_url=True, r_pays_project=None, authorized_user=User(42, "alice")
    )

    # Assess
    query = parse_qs(urlsplit(url).query)
    assert requests.get(url, timeout=30).content == b"sequencing reads"
    assert (query["user_id"], query["username"], query["client_id"]) == (["42"], ["alice"], ["fence-portal"])
    assert query["x-amz-request-payer"] == ["requester"]  # from S3_BUCKETS' requester_pays
    assert fence_module.fence_own_calls == []


def test_force_signed_url_false_gives_the_objects_url_without_a_signature(fence_module: Any) -> None:
    location = fence_module.IndexedFileLocation.from_url("s3://demo-bucket/some/object.txt")

    url = location.get_signed_url("download", 300, force_signed_url=False)

    assert urlsplit(url).query == ""
    assert url.endswith("/demo-bucket/some/object.txt")


def test_a_multipart_upload_through_blank_index(fence_module: Any, client: Any) -> None:
    # Prepare: two parts, the first of S3's smallest size.
    key = f"{uuid.uuid4().hex}/large.bin"
    parts = [os.urandom(5 * 1024 * 1024), b"the last part"]

    # Act: as Fence's multipart routes call BlankIndex, parts listed as Fence's clients send them.
    upload_id = fence_module.BlankIndex.init_multipart_upload(key, expires_in=600)
    listed = []
    for number, data in enumerate(parts, start=1):
        url = fence_module.BlankIndex.generate_aws_presigned_url_for_part(key, upload_id, number, 600)
        answer = requests.put(url, data=data, timeout=120)
        listed.append({"Etag": answer.headers["ETag"], "PartNumber": number})
    fence_module.BlankIndex.complete_multipart_upload(key, upload_id, listed, expires_in=600)

    # Assess
    stored = requests.get(client.presign("demo-bucket", key).url, timeout=120)
    assert stored.content == b"".join(parts)


def test_a_bucket_the_broker_does_not_know_stays_with_fences_own_code(fence_module: Any) -> None:
    location = fence_module.IndexedFileLocation.from_url("s3://open-data/public/file.vcf")

    url = location.get_signed_url("download", 300)

    assert url == "https://open-data.s3.amazonaws.com/public/file.vcf"
    assert fence_module.fence_own_calls == [("get_signed_url", "s3://open-data/public/file.vcf")]
    assert location.delete("open-data", "public/file.vcf") == ("", 204)  # Fence's own, kept


def test_broker_errors_become_fences_own(fence_module: Any, runner: Runner) -> None:
    # Prepare: a download-only bucket, and a suspended one.
    download_only = runner.register(["download"])
    suspended = runner.register(["download"])
    runner.patch(suspended, status="suspended")
    errors = sys.modules["fence.errors"]

    # Act
    with pytest.raises(errors.Forbidden) as not_allowed:
        fence_module.IndexedFileLocation.from_url(f"s3://{download_only}/k").get_signed_url("upload", 300)
    with pytest.raises(errors.UserError) as invalid:
        fence_module.IndexedFileLocation.from_url(f"s3://{download_only}/a/../k").get_signed_url(
            "download", 300
        )
    with pytest.raises(errors.Forbidden) as refused:
        fence_module.IndexedFileLocation.from_url(f"s3://{suspended}/k").get_signed_url("download", 300)

    # Assess: Fence's error handler answers with `code` and shows `message` (below 500).
    assert not_allowed.value.code == 403
    assert "fence-bucket-broker request" in not_allowed.value.message
    assert invalid.value.code == 400
    assert "suspended" in refused.value.message


def test_a_503_of_the_broker_becomes_fences_unavailable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, canned_server: RecordingProxy
) -> None:
    # Prepare: a broker that answers 503 with a Retry-After longer than the client waits.
    canned_server.answer(503, broker_error("secret_backend_unavailable"), {"retry-after": "60"})
    monkeypatch.setenv("FENCE_BUCKET_BROKER_URL", canned_server.url)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        fence = fence_with_the_readme_change(tmp_path, "indexd_unavailable")

        # Act
        with pytest.raises(sys.modules["fence.errors"].UnavailableError) as raised:
            fence.IndexedFileLocation.from_url("s3://demo-bucket/k").get_signed_url("download", 300)
    finally:
        sys.modules.pop("fence", None)
        sys.modules.pop("fence.errors", None)

    # Assess
    assert raised.value.code == 503
    assert len(canned_server.requests) == 1
