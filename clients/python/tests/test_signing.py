"""Every call is SigV4-signed for execute-api, with the session's current credentials, for the
API's region; the proxy records what arrives and the signature is recomputed from it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3  # type: ignore[import-untyped]  # only to prove a boto3 Session is accepted
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError
from conftest import TEST_CREDENTIALS, RecordedRequest, RecordingProxy

from fence_bucket_broker import BrokerClient


def signature_of(
    request: RecordedRequest, url: str, credentials: Credentials, region: str, body: bytes | None = None
) -> str:
    """The signature SigV4 gives `request` as it arrived (its X-Amz-Date, its signed headers)."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    signed_names = headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    copy = AWSRequest(
        method=request.method,
        url=url + request.path,
        data=request.body if body is None else body,
        headers={name: headers[name] for name in signed_names},
    )
    copy.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(credentials, "execute-api", region)
    return auth.signature(auth.string_to_sign(copy, auth.canonical_request(copy)), copy)


def authorization(request: RecordedRequest) -> dict[str, str]:
    header = {name.lower(): value for name, value in request.headers.items()}["authorization"]
    algorithm, fields = header.split(" ", 1)
    parts = dict(field.strip().split("=", 1) for field in fields.split(","))
    return {"algorithm": algorithm, **parts}


def test_a_call_is_signed_for_execute_api_over_the_exact_body_it_sends(proxy: RecordingProxy) -> None:
    # Act: default session (botocore's chain: the environment's keys here).
    BrokerClient(proxy.url).presign("demo-bucket", "py/signed")

    # Assess
    (request,) = proxy.requests
    fields = authorization(request)
    key = Credentials(TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"], TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    assert fields["algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["Credential"].startswith(f"{key.access_key}/")
    assert fields["Credential"].endswith("/us-east-1/execute-api/aws4_request")
    assert {"host", "x-amz-date", "content-type"} <= set(fields["SignedHeaders"].split(";"))
    assert fields["Signature"] == signature_of(request, proxy.url, key, "us-east-1")
    # Negative control: the same check fails for another body.
    assert fields["Signature"] != signature_of(request, proxy.url, key, "us-east-1", body=request.body + b" ")


def test_a_session_token_is_sent_and_signed(proxy: RecordingProxy) -> None:
    session = botocore.session.Session()
    session.set_credentials("ASIATEMPORARY0000001", "temporary-secret", "the-session-token")

    BrokerClient(proxy.url, session=session, region="us-east-1").presign("demo-bucket", "py/token")

    (request,) = proxy.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["x-amz-security-token"] == "the-session-token"
    assert "x-amz-security-token" in authorization(request)["SignedHeaders"].split(";")
    assert authorization(request)["Signature"] == signature_of(
        request,
        proxy.url,
        Credentials("ASIATEMPORARY0000001", "temporary-secret", "the-session-token"),
        "us-east-1",
    )


def test_a_boto3_session_is_accepted_and_its_region_used_when_the_url_names_none(
    proxy: RecordingProxy,
) -> None:
    session = boto3.Session(
        aws_access_key_id="AKIDBOTO3SESSION0001",
        aws_secret_access_key="boto3-secret",
        region_name="eu-west-1",
    )

    client = BrokerClient(proxy.url, session=session)
    client.presign("demo-bucket", "py/boto3")

    assert client.region == "eu-west-1"
    (request,) = proxy.requests
    assert authorization(request)["Credential"].startswith("AKIDBOTO3SESSION0001/")
    assert authorization(request)["Credential"].endswith("/eu-west-1/execute-api/aws4_request")


def test_the_region_of_an_execute_api_url_wins_over_the_sessions_and_an_explicit_one_over_both() -> None:
    url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/prod"

    assert BrokerClient(url).region == "eu-central-1"  # the environment says us-east-1
    assert BrokerClient(url, region="us-west-2").region == "us-west-2"
    assert BrokerClient("https://broker.example.org/prod").region == "us-east-1"


def test_each_attempt_is_signed_with_the_credentials_of_that_moment(proxy: RecordingProxy) -> None:
    # Prepare: credentials that change between calls, as refreshed IRSA credentials do.
    class Rotating:
        def __init__(self) -> None:
            self.calls = 0

        def get_credentials(self) -> Credentials:
            self.calls += 1
            return Credentials(f"AKIDROTATING00000{self.calls:03d}", "secret")

    proxy.answer(
        503,
        {"error": {"code": "registry_unavailable", "message": "m", "request_id": "r"}},
        {"retry-after": "0"},
    )
    client = BrokerClient(proxy.url, session=Rotating(), region="us-east-1")

    # Act
    client.presign("demo-bucket", "py/rotating")

    # Assess
    keys = [authorization(request)["Credential"].split("/")[0] for request in proxy.requests]
    assert keys == ["AKIDROTATING00000001", "AKIDROTATING00000002"]


def test_without_credentials_the_call_fails_before_anything_is_sent(proxy: RecordingProxy) -> None:
    class Anonymous:
        def get_credentials(self) -> None:
            return None

    with pytest.raises(NoCredentialsError):
        BrokerClient(proxy.url, session=Anonymous(), region="us-east-1").presign("demo-bucket", "k")

    assert proxy.requests == []


def test_without_any_region_the_client_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(ValueError, match="AWS_REGION"):
        BrokerClient("https://broker.example.org/prod")


@pytest.fixture
def moto_sts() -> Iterator[str]:
    """moto's server (installed for the TypeScript suite by scripts/install-test-services.sh), for
    STS's AssumeRoleWithWebIdentity."""
    # The interpreter install-test-services.sh installs moto into ($PYTHON, else python3 on PATH),
    # not this venv's base: the client is checked on Pythons the TypeScript suite's moto is not on.
    python = os.environ.get("PYTHON") or shutil.which("python3") or "python3"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "moto server exited: run `npm run services:install`"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_irsa_web_identity_credentials_sign_the_call(
    proxy: RecordingProxy, moto_sts: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare: a pod's IRSA settings as EKS injects them (STS is moto here), and no static keys.
    token = tmp_path / "token"
    token.write_text(
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpmZW5jZS1zYSJ9.c2ln"
    )
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/fence-irsa")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_sts)

    # Act
    BrokerClient(proxy.url).presign("demo-bucket", "py/irsa")

    # Assess: signed with the assumed role's temporary credentials, session token included.
    (request,) = proxy.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert authorization(request)["Credential"].startswith("ASIA")
    assert headers["x-amz-security-token"]
    assert authorization(request)["Credential"].split("/")[0] != TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"]


def test_from_env_reads_the_url_and_the_region_a_helm_chart_sets() -> None:
    settings = {
        "FENCE_BUCKET_BROKER_URL": "https://broker.example.org/prod/",
        "FENCE_BUCKET_BROKER_REGION": "ap-south-1",
    }

    client = BrokerClient.from_env(settings)

    assert (client.base_url, client.region) == ("https://broker.example.org/prod", "ap-south-1")
    with pytest.raises(ValueError, match="FENCE_BUCKET_BROKER_URL is not set"):
        BrokerClient.from_env({})
