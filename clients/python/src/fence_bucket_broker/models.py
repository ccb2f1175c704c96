"""What the client sends and what it returns: small frozen dataclasses, one per shape of the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

#: The methods the presign route signs.
Method = Literal["GET", "PUT", "HEAD"]


@dataclass(frozen=True)
class AuditUser:
    """Who the URL is for. Signed into GET and PUT URLs as query parameters (``user_id``,
    ``username``, ``client_id``), as Fence does, so it reaches the bucket's access logs."""

    user_id: str
    username: str
    client_id: str | None = None

    def to_json(self) -> dict[str, str]:
        body = {"user_id": self.user_id, "username": self.username}
        if self.client_id:
            body["client_id"] = self.client_id
        return body


@dataclass(frozen=True)
class PresignItem:
    """One item of :meth:`BrokerClient.presign_batch`; the fields of :meth:`BrokerClient.presign`."""

    key: str
    method: Method = "GET"
    expires_in: int | None = None
    user: AuditUser | None = None
    purpose: str | None = None
    content_type: str | None = None
    requester_pays: bool = False

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"key": self.key, "method": self.method}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        if self.user is not None:
            body["audit"] = self.user.to_json()
        if self.purpose is not None:
            body["purpose"] = self.purpose
        if self.content_type is not None:
            body["content_type"] = self.content_type
        if self.requester_pays:
            body["requester_pays"] = True
        return body


@dataclass(frozen=True)
class PresignedUrl:
    """A presigned URL. Send ``headers`` with the request (a PUT's ``content-type``, when asked);
    ``expires_at`` is the truth about its lifetime (the broker clamps ``expires_in``)."""

    url: str
    method: Method
    headers: Mapping[str, str]
    expires_at: datetime

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> PresignedUrl:
        headers = body.get("headers") or {}
        return cls(
            url=str(body["url"]),
            method=body["method"],
            headers={str(name): str(value) for name, value in dict(headers).items()},
            expires_at=parse_timestamp(str(body["expires_at"])),
        )


@dataclass(frozen=True)
class MultipartUpload:
    """A multipart upload the broker started; pass it to the other multipart calls."""

    bucket: str
    key: str
    upload_id: str


@dataclass(frozen=True)
class PartUrl:
    """A presigned PUT URL for one part; the ``ETag`` header of its answer completes the upload."""

    part_number: int
    url: str


@dataclass(frozen=True)
class CompletedPart:
    """One uploaded part: its number and the ``ETag`` the store answered."""

    part_number: int
    etag: str

    def to_json(self) -> dict[str, Any]:
        return {"part_number": self.part_number, "etag": self.etag}


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp as the broker writes it (``…Z``), as an aware datetime in UTC.
    Python 3.9's ``fromisoformat`` refuses the ``Z`` suffix, hence the replacement."""
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
