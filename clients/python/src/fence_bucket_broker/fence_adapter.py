"""Fence's S3 file location, answered by the broker.

Gen3 Fence signs S3 URLs in ``fence/blueprints/data/indexd.py``: ``IndexedFileLocation.from_url``
and ``BlankIndex`` build ``S3IndexedFileLocation(url)`` for an ``s3://bucket/key`` URL and call

- ``get_signed_url(action, expires_in, force_signed_url=True, authorized_user=None, **kwargs)``
  (``action`` ``download`` or ``upload``) → the URL; with ``force_signed_url=False`` the
  unsigned object URL;
- ``init_multipart_upload(expires_in)`` → the upload id;
- ``generate_presigned_url_for_part_upload(uploadId, partNumber, expires_in)`` → a part's URL;
- ``complete_multipart_upload(uploadId, parts, expires_in)``, ``parts`` as S3 lists them
  (``[{"ETag" or "Etag": …, "PartNumber": …}]``).

Each method keeps Fence's signature, parameter names included (Fence may pass any of them by
keyword); ``tests/test_fence_signatures.py`` holds them to Fence's source.

:meth:`BrokerS3IndexedFileLocation.bind` makes a class with that shape whose every signing call
goes to the broker, so Fence keeps no bucket key. Bound to Fence's own class as ``base``, it
inherits the rest (``delete``, ``bucket_name``, …) and leaves to it what the broker does not do:
buckets the broker has no record of (Fence's public ``cred: '*'`` buckets, which
``fence-buckets migrate`` skips).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Protocol, cast
from urllib.parse import ParseResult, urlparse

from .client import BrokerClient
from .errors import BrokerError, UnknownBucket
from .models import AuditUser, CompletedPart, Method, MultipartUpload

#: Fence's actions and the methods they sign.
ACTIONS: Mapping[str, Method] = {"download": "GET", "upload": "PUT"}

AuthInfo = Callable[[Any], Mapping[str, Any]]
ErrorTranslator = Callable[[BrokerError], Exception]


class FenceErrors(Protocol):
    """The error classes of Fence's ``fence.errors`` module that broker errors become."""

    UserError: Callable[[str], Exception]
    Forbidden: Callable[[str], Exception]
    NotFound: Callable[[str], Exception]
    UnavailableError: Callable[[str], Exception]
    InternalError: Callable[[str], Exception]


def fence_error_translator(errors: FenceErrors) -> ErrorTranslator:
    """Broker errors as Fence's own (``fence.errors``), so Fence's error handler answers them with
    a fitting status: 400 ``UserError``; 403 and a suspended bucket ``Forbidden``; 404
    ``NotFound``; 429, 503 and no answer ``UnavailableError``; anything else ``InternalError``
    (its message is not shown to users). Messages keep the broker's request id."""

    def translate(error: BrokerError) -> Exception:
        request = f" (fence-bucket-broker request {error.request_id})" if error.request_id else ""
        message = f"{error.message}{request}"
        if error.retryable:
            return errors.UnavailableError(message)
        if error.status == 400:
            return errors.UserError(message)
        if error.status == 403 or error.code == "bucket_suspended":
            return errors.Forbidden(message)
        if error.status == 404:
            return errors.NotFound(message)
        return errors.InternalError(message)

    return translate


@dataclass(frozen=True)
class _Binding:
    """What :meth:`BrokerS3IndexedFileLocation.bind` gives a location class."""

    client: BrokerClient
    auth_info: AuthInfo | None
    translate: ErrorTranslator | None
    requester_pays: Callable[[str], bool] | None
    fallback: type | None


class BrokerSignedLocation:
    """The signing methods of Fence's ``S3IndexedFileLocation``, answered by the broker.

    Made usable by :meth:`BrokerS3IndexedFileLocation.bind`, which sets the class attributes.
    Attribute names carry a ``_broker`` prefix so they never shadow those of Fence's class.
    """

    url: str
    parsed_url: ParseResult

    _broker_binding: ClassVar[_Binding | None] = None

    def get_signed_url(
        self,
        action: str,
        expires_in: int,
        force_signed_url: bool = True,
        authorized_user: object = None,
        **kwargs: object,
    ) -> str:
        """A presigned GET (``download``) or PUT (``upload``) URL, with the user signed in for
        the bucket's access logs; ``force_signed_url=False``: the object's URL without a signature."""
        method = ACTIONS.get(action)
        if method is None:
            raise ValueError(f"action {action!r} is not supported (download or upload)")
        bucket, key = self._broker_object()
        requester_pays = self._broker_bound().requester_pays

        def sign() -> str:
            signed = self._broker().presign(
                bucket,
                key,
                method,
                expires_in=int(expires_in) if expires_in else None,
                user=self._broker_audit_user(authorized_user),
                purpose=f"fence {action}",
                requester_pays=bool(requester_pays and requester_pays(bucket)),
            )
            return signed.url if force_signed_url else signed.url.split("?", 1)[0]

        fence_own = {"force_signed_url": force_signed_url, "authorized_user": authorized_user, **kwargs}
        return str(self._broker_answer(sign, "get_signed_url", action, expires_in, **fence_own))

    def init_multipart_upload(self, expires_in: int | None) -> str:
        """Starts a multipart upload of this object; its upload id."""
        bucket, key = self._broker_object()
        return str(
            self._broker_answer(
                lambda: self._broker().multipart.create(bucket, key).upload_id,
                "init_multipart_upload",
                expires_in,
            )
        )

    # Fence's camelCase names (uploadId, partNumber): Fence's callers may pass them by keyword.
    def generate_presigned_url_for_part_upload(
        self,
        uploadId: str,  # noqa: N803
        partNumber: int,  # noqa: N803
        expires_in: int,
    ) -> str:
        """A presigned PUT URL for one part of the upload."""
        bucket, key = self._broker_object()

        def sign() -> str:
            (part,) = self._broker().multipart.part_urls(
                MultipartUpload(bucket, key, uploadId),
                [int(partNumber)],
                expires_in=int(expires_in) if expires_in else None,
            )
            return part.url

        return str(
            self._broker_answer(
                sign, "generate_presigned_url_for_part_upload", uploadId, partNumber, expires_in
            )
        )

    def complete_multipart_upload(
        self,
        uploadId: str,  # noqa: N803
        parts: Sequence[Mapping[str, Any]],
        expires_in: int | None,
    ) -> None:
        """Completes the upload from its parts, as Fence's clients send them."""
        bucket, key = self._broker_object()
        completed = [_part(part) for part in parts]
        self._broker_answer(
            lambda: self._broker().multipart.complete(MultipartUpload(bucket, key, uploadId), completed),
            "complete_multipart_upload",
            uploadId,
            parts,
            expires_in,
        )

    def _broker_answer(
        self, call: Callable[[], object], fence_method: str, *args: object, **kwargs: object
    ) -> object:
        """``call()``, with broker errors raised as Fence's; a bucket the broker does not know
        goes to Fence's own ``fence_method`` when bound to a base class."""
        try:
            return call()
        except UnknownBucket as error:
            fallback = self._broker_bound().fallback
            if fallback is not None:
                fence_own: Callable[..., object] = getattr(fallback, fence_method)
                return fence_own(self, *args, **kwargs)
            raise self._broker_error(error) from error
        except BrokerError as error:
            raise self._broker_error(error) from error

    def _broker_object(self) -> tuple[str, str]:
        # As Fence reads an s3:// URL: the bucket is the host, the key the path without its slashes.
        return self.parsed_url.netloc, self.parsed_url.path.strip("/")

    def _broker_bound(self) -> _Binding:
        if self._broker_binding is None:
            raise TypeError(
                "BrokerS3IndexedFileLocation is not bound to a client: use BrokerS3IndexedFileLocation.bind"
            )
        return self._broker_binding

    def _broker(self) -> BrokerClient:
        return self._broker_bound().client

    def _broker_audit_user(self, authorized_user: object) -> AuditUser | None:
        auth_info = self._broker_bound().auth_info
        if auth_info is None:
            return None
        info = auth_info(authorized_user)
        client_id = info.get("client_id")
        return AuditUser(
            user_id=str(info.get("user_id")),
            username=str(info.get("username")),
            client_id=str(client_id) if client_id else None,
        )

    def _broker_error(self, error: BrokerError) -> Exception:
        translate = self._broker_bound().translate
        return error if translate is None else translate(error)


class BrokerS3IndexedFileLocation(BrokerSignedLocation):
    """An ``s3://bucket/key`` location with the shape of Fence's ``S3IndexedFileLocation``,
    signed by the broker. Use :meth:`bind` to get a class to construct."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.parsed_url = urlparse(url)
        self.protocol = self.parsed_url.scheme

    def bucket_name(self) -> str:
        return self.parsed_url.netloc

    def file_name(self) -> str:
        return self.parsed_url.path.strip("/")

    @classmethod
    def bind(
        cls,
        client: BrokerClient,
        *,
        auth_info: AuthInfo | None = None,
        base: type | None = None,
        errors: FenceErrors | None = None,
        requester_pays: Callable[[str], bool] | None = None,
    ) -> type[BrokerSignedLocation]:
        """A location class whose signing calls go to ``client``.

        Args:
            client: the broker.
            auth_info: called with Fence's ``authorized_user`` (or None); returns
                ``{"user_id", "username", "client_id"}`` (Fence's
                ``_get_auth_info_for_id_or_from_request``), signed into GET and PUT URLs.
            base: Fence's own ``S3IndexedFileLocation``. The class returned then subclasses it:
                it keeps its constructor and every method the broker has no part in, and buckets
                the broker has no record of are signed by it, as before.
            errors: Fence's ``fence.errors``: broker errors are raised as Fence's own
                (:func:`fence_error_translator`); without it they are raised as they are.
            requester_pays: called with the bucket name: whether to sign ``x-amz-request-payer``
                (Fence reads it from ``S3_BUCKETS``).
        """
        binding = _Binding(
            client=client,
            auth_info=auth_info,
            translate=fence_error_translator(errors) if errors is not None else None,
            requester_pays=requester_pays,
            fallback=base,
        )
        namespace: dict[str, Any] = {"_broker_binding": binding}
        if base is None:
            return type("BoundBrokerS3IndexedFileLocation", (cls,), namespace)
        return cast(
            "type[BrokerSignedLocation]",
            type(f"Broker{base.__name__}", (BrokerSignedLocation, base), namespace),
        )


def _part(part: Mapping[str, Any]) -> CompletedPart:
    """A part as S3's clients list it (``ETag``; Fence's documentation writes ``Etag``) or as the
    broker does (``etag``, ``part_number``)."""
    etag = part.get("ETag", part.get("Etag", part.get("etag")))
    number = part.get("PartNumber", part.get("part_number"))
    if etag is None or number is None:
        raise ValueError("a part needs an ETag and a PartNumber")
    return CompletedPart(part_number=int(number), etag=str(etag))
