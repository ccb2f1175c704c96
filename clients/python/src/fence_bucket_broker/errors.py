"""Every error the broker answers, as one exception class per stable code.

The broker answers errors as ``{"error": {"code", "message", "request_id"}}``. The client raises the
class registered for ``code`` (``ERROR_CLASSES``); a code this release does not know raises the base
class, :class:`BrokerError`, with the code as sent, so a newer broker never breaks an older client.
Map codes (classes), never messages: messages are for people and may change.
"""

from __future__ import annotations

import email.utils
import time
from typing import ClassVar

#: Statuses worth retrying, after ``Retry-After`` when the answer carries one.
RETRYABLE_STATUSES = frozenset({429, 503})


class BrokerError(Exception):
    """An error answer of the broker (or of API Gateway in front of it), or no answer at all.

    Attributes:
        status: the HTTP status; ``None`` when no answer arrived (:class:`BrokerUnreachable`).
        code: the stable code (``unknown_bucket``, …); ``unexpected_answer`` for an answer that is
            not the broker's error shape (API Gateway's own 403 or 429, a proxy's 502).
        message: what went wrong, for people; it never holds a secret.
        request_id: the broker's request id (quote it when reporting a problem: it is in the
            broker's audit line), else API Gateway's ``x-amzn-RequestId``; ``None`` when unknown.
        retry_after: seconds to wait before retrying, from ``Retry-After``; ``None`` when absent.
    """

    #: The stable code this class stands for ("" for the base class).
    CODE: ClassVar[str] = ""
    #: The status the broker answers with this code.
    STATUS: ClassVar[int | None] = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status: int | None = status if status is not None else self.STATUS
        self.code: str = code if code is not None else self.CODE
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        status = "no answer" if self.status is None else str(self.status)
        request = "" if self.request_id is None else f" (request {self.request_id})"
        return f"{status} {self.code}: {self.message}{request}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r}, "
            f"request_id={self.request_id!r}, retry_after={self.retry_after!r})"
        )

    @property
    def retryable(self) -> bool:
        """Whether the same call may succeed later: 429, 503, or no answer at all."""
        return self.status is None or self.status in RETRYABLE_STATUSES


class BrokerUnreachable(BrokerError):
    """No answer: the connection failed or timed out (after the client's own retries)."""

    CODE = "broker_unreachable"


class InvalidRequest(BrokerError):
    """The body breaks the schema (the message names the field), or the bucket name is bad."""

    CODE = "invalid_request"
    STATUS = 400


class OperationNotAllowed(BrokerError):
    """The operation is not in the bucket's ``allowed_ops``."""

    CODE = "operation_not_allowed"
    STATUS = 403


class UnknownBucket(BrokerError):
    """No registry record for the bucket."""

    CODE = "unknown_bucket"
    STATUS = 404


class UnknownRoute(BrokerError):
    """The path is not one of the API's routes (a wrong base URL, most likely)."""

    CODE = "unknown_route"
    STATUS = 404


class MethodNotAllowed(BrokerError):
    """A route was called with another method than POST."""

    CODE = "method_not_allowed"
    STATUS = 405


class BucketSuspended(BrokerError):
    """The bucket's status is ``suspended``."""

    CODE = "bucket_suspended"
    STATUS = 409


class BucketExists(BrokerError):
    """An admin create named a registered bucket."""

    CODE = "bucket_exists"
    STATUS = 409


class RevisionConflict(BrokerError):
    """An admin update carried a stale ``revision``."""

    CODE = "revision_conflict"
    STATUS = 409


class PayloadTooLarge(BrokerError):
    """The request body is over the API's limit (6 MiB)."""

    CODE = "payload_too_large"
    STATUS = 413


class Throttled(BrokerError):
    """A backend throttled the broker and its retries ran out (with ``Retry-After``)."""

    CODE = "throttled"
    STATUS = 429


class CredentialsRejected(BrokerError):
    """The bucket's store (or STS) refused the bucket's credentials."""

    CODE = "credentials_rejected"
    STATUS = 502


class BucketMisconfigured(BrokerError):
    """The bucket's record or secret is broken; retrying will not help, an operator must fix it."""

    CODE = "bucket_misconfigured"
    STATUS = 502


class SecretBackendUnavailable(BrokerError):
    """No usable cached credentials and the secrets backend (or STS) failed (with ``Retry-After``)."""

    CODE = "secret_backend_unavailable"
    STATUS = 503


class StoreUnavailable(BrokerError):
    """The bucket's store failed or did not answer a multipart call in time (with ``Retry-After``)."""

    CODE = "store_unavailable"
    STATUS = 503


class StoreUnreachable(BrokerError):
    """The store at the endpoint an admin request gave could not be reached when the broker proved
    the bucket's credentials on it (register, a new endpoint, a resume): the connection was refused,
    the name does not resolve, the TLS handshake failed or nothing answered in time. Fix the
    endpoint (or the network); retrying the same request will not help."""

    CODE = "store_unreachable"
    STATUS = 400


class EndpointNotAllowed(BrokerError):
    """The bucket's store endpoint is one the broker's store-endpoint policy refuses: not
    ``https``, with userinfo, a query or a fragment, or a host that is (or resolves to) a
    loopback, link-local or private address outside the deployment's allowed networks."""

    CODE = "endpoint_not_allowed"
    STATUS = 400


class RegistryUnavailable(BrokerError):
    """The registry failed or did not answer in time (with ``Retry-After``)."""

    CODE = "registry_unavailable"
    STATUS = 503


class CallerNotAllowed(BrokerError):
    """The caller is not one of the principals allowed on this route."""

    CODE = "caller_not_allowed"
    STATUS = 403


class UnknownSecret(BrokerError):
    """An admin request named a secret that does not exist."""

    CODE = "unknown_secret"
    STATUS = 404


class SecretExists(BrokerError):
    """An admin create named a secret that already exists."""

    CODE = "secret_exists"
    STATUS = 409


class InvalidSecret(BrokerError):
    """An admin request named a secret that cannot serve the bucket."""

    CODE = "invalid_secret"
    STATUS = 400


class RotationNotConfigured(BrokerError):
    """A rotation was asked of a secret without rotation configured."""

    CODE = "rotation_not_configured"
    STATUS = 409


class InternalError(BrokerError):
    """A bug or an unmapped failure in the broker; the message says no more on purpose."""

    CODE = "internal_error"
    STATUS = 500


#: The class of each stable code of the broker's API (``functions/shared/errors.ts``).
ERROR_CLASSES: dict[str, type[BrokerError]] = {
    cls.CODE: cls
    for cls in (
        InvalidRequest,
        EndpointNotAllowed,
        OperationNotAllowed,
        UnknownBucket,
        UnknownRoute,
        MethodNotAllowed,
        BucketSuspended,
        BucketExists,
        RevisionConflict,
        PayloadTooLarge,
        Throttled,
        CredentialsRejected,
        BucketMisconfigured,
        SecretBackendUnavailable,
        StoreUnavailable,
        StoreUnreachable,
        RegistryUnavailable,
        CallerNotAllowed,
        UnknownSecret,
        SecretExists,
        InvalidSecret,
        RotationNotConfigured,
        InternalError,
    )
}


def error_for(
    code: str,
    message: str,
    *,
    status: int | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> BrokerError:
    """The exception for ``code``: its own class, or the base class for a code not known here."""
    cls = ERROR_CLASSES.get(code, BrokerError)
    return cls(message, status=status, code=code, request_id=request_id, retry_after=retry_after)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
