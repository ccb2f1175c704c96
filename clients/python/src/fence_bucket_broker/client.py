"""``BrokerClient``: the presign API of fence-bucket-broker, SigV4-signed, with retries."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Union, cast
from urllib.parse import quote, urlsplit

import botocore.session
import requests
import urllib3.exceptions
from urllib3.util import Timeout as AttemptTimeout

from .errors import RETRYABLE_STATUSES, BrokerError, BrokerUnreachable, error_for, parse_retry_after
from .models import (
    AuditUser,
    CompletedPart,
    Method,
    MultipartUpload,
    PartUrl,
    PresignedUrl,
    PresignItem,
)
from .signing import CredentialSource, RequestSigner, region_of

#: The environment variable that names the broker's base URL (the stack's ``PresignApiUrl`` output).
BROKER_URL_ENV = "FENCE_BUCKET_BROKER_URL"
#: Optional: the region to sign for, when the URL is a custom domain that names none.
BROKER_REGION_ENV = "FENCE_BUCKET_BROKER_REGION"
#: Optional: the seconds one call may take, all attempts and waits included (default 20).
BROKER_DEADLINE_ENV = "FENCE_BUCKET_BROKER_DEADLINE"

#: ``(connect, read)`` seconds. The broker answers within its 10 s function timeout even when a
#: backend hangs, so 15 s never cuts an answer off.
DEFAULT_TIMEOUT = (5.0, 15.0)

#: Seconds one call may take, every attempt and every wait between them included. Fence calls the
#: client inside a web request, and gunicorn kills a worker that holds one for 30 s (its default
#: timeout): a hung broker must become Fence's ``UnavailableError`` before that, not a killed worker.
DEFAULT_DEADLINE = 20.0

Timeout = Union[float, "tuple[float, float]"]

logger = logging.getLogger("fence_bucket_broker")


class BrokerClient:
    """The presign API of fence-bucket-broker.

    Every call is a POST signed with SigV4 for ``execute-api`` with the session's credentials
    (botocore's standard chain by default: IRSA in a Fence pod). Connections are reused through
    one ``requests.Session``. 429 and 503 answers are retried after their ``Retry-After`` (with a
    little jitter, so a fleet of pods does not come back at the same instant), connection failures
    after a jittered exponential backoff; no other error is retried, since it would answer the
    same again. Errors raise the :class:`~fence_bucket_broker.errors.BrokerError` subclass of their
    stable code.

    The client speaks ``https`` (plain ``http`` only to this machine: ``127.0.0.1``, ``localhost``
    or ``[::1]``, as the local runner serves) and never follows a redirect: a redirect would carry
    the signed headers, session token included, to wherever it points. A 3xx answer raises
    :class:`~fence_bucket_broker.errors.BrokerError` with code ``unexpected_answer``.

    Args:
        base_url: the API's base URL, stage included (the stack's ``PresignApiUrl`` output);
            ``ValueError`` when it is not ``https`` (or ``http`` to loopback).
        session: a ``botocore.session.Session`` or a boto3 ``Session``; default: a new botocore
            session (environment, profile, IRSA web identity, instance metadata).
        region: the region to sign for; default: the one in ``base_url``'s host, else the session's.
        timeout: seconds, or ``(connect, read)`` seconds, per attempt; cut to what is left of
            the deadline.
        deadline: seconds one call may take, all attempts, their timeouts and the waits between
            them included: no attempt starts, and none waits, past it; a call out of time raises
            :class:`~fence_bucket_broker.errors.BrokerUnreachable` (no answer) or the last error.
            (The limits are urllib3's, per socket operation: each read waits at most what is
            left, so a broker that trickles bytes could stretch a read past it, which API Gateway
            does not do; and a host name with several addresses that all black-hole connections
            gets the cut connect timeout once per address.)
        max_retries: retries after the first attempt (0: none), as long as the deadline allows.
        max_retry_wait: a ``Retry-After`` longer than this (seconds) is not waited for: the error
            is raised at once, carrying ``retry_after``, so a web request never stalls for long.
        http: the ``requests.Session`` to send with (its adapters, proxies, CA bundle); default: a new one.
        sleep: how to wait between attempts (tests count the waits instead of sleeping).
        clock: seconds from a monotonic clock, for the deadline (tests drive their own).
    """

    def __init__(
        self,
        base_url: str,
        session: CredentialSource | None = None,
        region: str | None = None,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_retries: int = 2,
        max_retry_wait: float = 10.0,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if not (0 < deadline < float("inf")):
            raise ValueError(f"deadline must be a positive number of seconds, not {deadline!r}")
        self.base_url = _checked_base_url(base_url).rstrip("/")
        credentials_source: CredentialSource = (
            session if session is not None else botocore.session.get_session()
        )
        self.region = region_of(self.base_url, credentials_source, region)
        self._signer = RequestSigner(credentials_source, self.region)
        self._http = http if http is not None else requests.Session()
        self._connect_timeout, self._read_timeout = (
            timeout if isinstance(timeout, tuple) else (timeout, timeout)
        )
        self._deadline = deadline
        self._clock = clock
        self._max_retries = max_retries
        self._max_retry_wait = max_retry_wait
        self._sleep = sleep
        self.multipart = Multipart(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> BrokerClient:  # noqa: ANN401
        """A client for the URL in ``FENCE_BUCKET_BROKER_URL`` (and the region in
        ``FENCE_BUCKET_BROKER_REGION``, the deadline in ``FENCE_BUCKET_BROKER_DEADLINE``, when
        set): the settings a Helm chart gives a Fence pod."""
        env = os.environ if environ is None else environ
        url = env.get(BROKER_URL_ENV, "").strip()
        if not url:
            raise ValueError(f"{BROKER_URL_ENV} is not set: the broker's base URL (the PresignApiUrl output)")
        options.setdefault("region", env.get(BROKER_REGION_ENV) or None)
        deadline = env.get(BROKER_DEADLINE_ENV, "").strip()
        if deadline:
            try:
                options.setdefault("deadline", float(deadline))
            except ValueError:
                raise ValueError(
                    f"{BROKER_DEADLINE_ENV} must be a number of seconds, not {deadline!r}"
                ) from None
        return cls(url, **options)

    def close(self) -> None:
        """Closes the pooled connections."""
        self._http.close()

    def __enter__(self) -> BrokerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def presign(
        self,
        bucket: str,
        key: str,
        method: Method = "GET",
        expires_in: int | None = None,
        user: AuditUser | None = None,
        purpose: str | None = None,
        content_type: str | None = None,
        requester_pays: bool = False,
    ) -> PresignedUrl:
        """A presigned URL for one object. ``expires_in`` (default 3600) is clamped to the
        bucket's ``max_expires_in``; ``user`` is signed into GET and PUT URLs; ``purpose`` goes
        to the broker's audit line; ``content_type`` becomes a signed header of a PUT (it is in
        the answer's ``headers``); ``requester_pays`` signs ``x-amz-request-payer=requester``."""
        item = PresignItem(key, method, expires_in, user, purpose, content_type, requester_pays)
        return PresignedUrl.from_json(self._call(bucket, "presign", item.to_json()))

    def presign_batch(self, bucket: str, items: Sequence[PresignItem]) -> list[PresignedUrl | BrokerError]:
        """Presigned URLs for up to 1,000 objects of one bucket, in order. An item the broker
        refuses on its own (it breaks the schema, or its operation is not allowed) comes back
        as its error in its place, not raised; a problem of the whole call (unknown or suspended
        bucket, backend down) raises."""
        answer = self._call(bucket, "presign-batch", {"items": [item.to_json() for item in items]})
        results: list[PresignedUrl | BrokerError] = []
        for result in answer["results"]:
            error = result.get("error")
            if isinstance(error, dict):
                results.append(error_for(str(error.get("code")), str(error.get("message", ""))))
            else:
                results.append(PresignedUrl.from_json(result))
        return results

    def _call(self, bucket: str, route: str, body: Mapping[str, Any], *, idempotent: bool = True) -> Any:  # noqa: ANN401
        """POSTs ``body`` to ``/v1/buckets/{bucket}/{route}``; the answer's JSON (None for 204)."""
        url = f"{self.base_url}/v1/buckets/{quote(bucket, safe='')}/{route}"
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        ends_at = self._clock() + self._deadline
        attempt = 0
        while True:
            try:
                response = self._send(url, payload, self._attempt_timeout(ends_at))
            except requests.RequestException as failure:
                wait = self._backoff(attempt)
                if (
                    attempt < self._max_retries
                    and _may_resend(failure, idempotent)
                    and wait < ends_at - self._clock()
                ):
                    logger.warning(
                        "broker unreachable (%s); retry %d in %.1f s",
                        type(failure).__name__,
                        attempt + 1,
                        wait,
                    )
                    self._sleep(wait)
                    attempt += 1
                    continue
                raise BrokerUnreachable(
                    f"no answer from {self.base_url}: {type(failure).__name__} "
                    f"({attempt + 1} attempt(s) within the {self._deadline:g} s deadline)"
                ) from failure
            if response.status_code < 300:
                return _answer_of(response)
            if response.status_code < 400:
                raise _redirect_refused(response)
            error = _error_from(response)
            delay = self._retry_wait(error, attempt, ends_at - self._clock())
            if delay is None:
                raise error
            logger.warning(
                "broker answered %s %s (request %s); retry %d in %.1f s",
                error.status,
                error.code,
                error.request_id,
                attempt + 1,
                delay,
            )
            self._sleep(delay)
            attempt += 1

    def _attempt_timeout(self, ends_at: float) -> AttemptTimeout:
        """The attempt's timeouts, cut to what is left of the call's deadline. ``total`` makes
        urllib3 give the read only what connecting left over, so connect plus read never pass it."""
        left = max(0.0, ends_at - self._clock())
        return AttemptTimeout(connect=min(self._connect_timeout, left), read=self._read_timeout, total=left)

    def _send(self, url: str, payload: bytes, timeout: AttemptTimeout) -> requests.Response:
        # Signed per attempt: a fresh X-Amz-Date, and credentials refreshed when they near expiry.
        headers = self._signer.headers_for("POST", url, payload, {"content-type": "application/json"})
        # Never redirected, whatever the session's settings: the signed headers (and the session
        # token) would go to the redirect's target, which requests strips only of Authorization.
        return self._http.post(
            # requests takes urllib3's Timeout as it is (its documented third form); the stubs
            # know only numbers and tuples.
            url,
            data=payload,
            headers=headers,
            timeout=cast(Any, timeout),
            allow_redirects=False,
        )

    def _retry_wait(self, error: BrokerError, attempt: int, left: float) -> float | None:
        """Seconds to wait before retrying ``error``, or None when it must be raised (also when
        the wait would use up what is ``left`` of the deadline: no attempt would follow it)."""
        if attempt >= self._max_retries or error.status not in RETRYABLE_STATUSES:
            return None
        if error.retry_after is None:
            wait = self._backoff(attempt)
        elif error.retry_after > self._max_retry_wait:
            return None
        else:
            # Never earlier than asked; up to 10 % (at most 1 s) later, so callers spread out.
            wait = error.retry_after + random.uniform(0, min(1.0, error.retry_after * 0.1))  # noqa: S311
        return wait if wait < left else None

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, 0.5 s × 2^attempt)]."""
        return random.uniform(0, min(self._max_retry_wait, 0.5 * 2**attempt))  # noqa: S311


class Multipart:
    """Multipart uploads through the broker: start one, get presigned PUT URLs for its parts,
    complete it with the parts' ETags, or abort it. ``client.multipart`` is one."""

    def __init__(self, client: BrokerClient) -> None:
        self._client = client

    def create(self, bucket: str, key: str, content_type: str | None = None) -> MultipartUpload:
        """Starts a multipart upload of ``key`` (not retried after a lost answer: a retry would
        start a second upload)."""
        body: dict[str, Any] = {"key": key}
        if content_type is not None:
            body["content_type"] = content_type
        answer = self._client._call(bucket, "multipart", body, idempotent=False)
        return MultipartUpload(bucket=bucket, key=key, upload_id=str(answer["upload_id"]))

    def part_urls(
        self, upload: MultipartUpload, part_numbers: Sequence[int], expires_in: int | None = None
    ) -> list[PartUrl]:
        """Presigned PUT URLs for parts (numbers 1–10,000, up to 1,000 per call), in the order asked."""
        body: dict[str, Any] = {
            "key": upload.key,
            "upload_id": upload.upload_id,
            "part_numbers": list(part_numbers),
        }
        if expires_in is not None:
            body["expires_in"] = expires_in
        answer = self._client._call(upload.bucket, "multipart/parts", body)
        return [
            PartUrl(part_number=int(part["part_number"]), url=str(part["url"])) for part in answer["parts"]
        ]

    def complete(self, upload: MultipartUpload, parts: Sequence[CompletedPart]) -> str:
        """Completes the upload from its parts (sorted here by number, as S3 requires); the
        object's ETag."""
        ordered = sorted(parts, key=lambda part: part.part_number)
        body = {
            "key": upload.key,
            "upload_id": upload.upload_id,
            "parts": [part.to_json() for part in ordered],
        }
        answer = self._client._call(upload.bucket, "multipart/complete", body, idempotent=False)
        return str(answer["etag"])

    def abort(self, upload: MultipartUpload) -> None:
        """Aborts the upload; the store drops the parts uploaded so far."""
        self._client._call(
            upload.bucket, "multipart/abort", {"key": upload.key, "upload_id": upload.upload_id}
        )


def _checked_base_url(base_url: str) -> str:
    """``base_url`` if the client may send signed requests there: ``https``, or ``http`` to this
    machine (nothing between the two ends can read or change loopback traffic)."""
    parts = urlsplit(base_url.strip())
    if parts.scheme == "https" and parts.hostname:
        return base_url.strip()
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return base_url.strip()
    shown = f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else repr(base_url)
    raise ValueError(
        f"the broker's URL must be https:// (plain http:// only to 127.0.0.1, localhost or [::1]), not {shown}"
    )


def _is_loopback(hostname: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (``urlsplit`` lowercases and unbrackets the host)."""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _redirect_refused(response: requests.Response) -> BrokerError:
    """The error for a 3xx answer, which the client does not follow."""
    target = urlsplit(response.headers.get("Location", ""))
    # The host alone: a Location's userinfo or query is nobody's business in an error message.
    where = f" to {target.scheme}://{target.hostname}" if target.scheme and target.hostname else ""
    return BrokerError(
        f"a {response.status_code} redirect{where}, which the client does not follow (the signed "
        "headers would go with it): point base_url at the API itself",
        status=response.status_code,
        code="unexpected_answer",
        request_id=response.headers.get("x-amzn-RequestId"),
    )


def _answer_of(response: requests.Response) -> Any:  # noqa: ANN401
    """A success's JSON body (None for 204); a body that is not JSON is not the broker's answer."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise BrokerError(
            f"a {response.status_code} answer that is not JSON: {response.text[:200]}",
            status=response.status_code,
            code="unexpected_answer",
            request_id=response.headers.get("x-amzn-RequestId"),
        ) from None


def _error_from(response: requests.Response) -> BrokerError:
    """The exception for an error answer: the broker's shape, or anything else (API Gateway's own
    answers, a proxy's) as the base class with code ``unexpected_answer``."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    gateway_request_id = response.headers.get("x-amzn-RequestId")
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        request_id = error.get("request_id")
        return error_for(
            error["code"],
            str(error.get("message", "")),
            status=response.status_code,
            request_id=request_id if isinstance(request_id, str) else gateway_request_id,
            retry_after=retry_after,
        )
    message = (body.get("message") or body.get("Message")) if isinstance(body, dict) else None
    return BrokerError(
        str(message) if message else response.text[:200],
        status=response.status_code,
        code="unexpected_answer",
        request_id=gateway_request_id,
        retry_after=retry_after,
    )


def _may_resend(failure: requests.RequestException, idempotent: bool) -> bool:
    """Whether a failed attempt may be sent again: any connection failure or timeout of an
    idempotent call; for the others (multipart create and complete) only a failure that proves
    the request never left (no connection could be made)."""
    if not isinstance(failure, (requests.ConnectionError, requests.Timeout)):
        return False
    if idempotent or isinstance(failure, requests.ConnectTimeout):
        return True
    cause = failure.args[0] if failure.args else None
    return isinstance(getattr(cause, "reason", None), urllib3.exceptions.NewConnectionError)
