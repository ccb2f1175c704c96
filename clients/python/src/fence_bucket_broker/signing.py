"""SigV4 for ``execute-api``, with credentials from botocore's standard chain.

In a Fence pod that chain finds IRSA's web-identity token (``AWS_ROLE_ARN`` and
``AWS_WEB_IDENTITY_TOKEN_FILE``, set by EKS) and refreshes the assumed-role credentials before
they expire; elsewhere it finds environment variables, profiles or instance metadata.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError

SERVICE = "execute-api"

# https://{api-id}.execute-api.{region}.amazonaws.com (and .amazonaws.com.cn); custom domains name none.
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


class CredentialSource(Protocol):
    """What signs: a ``botocore.session.Session`` or a boto3 ``Session`` (both have this)."""

    def get_credentials(self) -> Credentials | None: ...


def region_of(base_url: str, session: CredentialSource, region: str | None) -> str:
    """The region to sign for: the one given, else the API's own (in its execute-api host name),
    else the session's. The host name wins over the session's region: a pod configured for
    another region must still sign for the region the API lives in."""
    if region:
        return region
    host = (urlsplit(base_url).hostname or "").lower()
    match = _EXECUTE_API_HOST.match(host)
    if match:
        return match.group(1)
    session_region = getattr(session, "region_name", None)
    if not session_region and isinstance(session, botocore.session.Session):
        session_region = session.get_config_variable("region")
    if isinstance(session_region, str) and session_region:
        return session_region
    raise ValueError(
        f"no region to sign for: {base_url} names none; pass region= or set AWS_REGION (or AWS_DEFAULT_REGION)"
    )


class RequestSigner:
    """Signs one request at a time, with the session's current credentials: refreshable
    credentials (IRSA, assumed roles) are refreshed by botocore when they near expiry."""

    def __init__(self, session: CredentialSource, region: str) -> None:
        self._session = session
        self.region = region

    def headers_for(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """``headers`` plus ``Authorization``, ``X-Amz-Date`` (and ``X-Amz-Security-Token``) for this
        exact method, URL and body."""
        credentials = self._session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}
