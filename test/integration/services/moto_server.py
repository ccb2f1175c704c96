"""Starts moto's server with Secrets Manager and STS behaving as AWS does where the broker depends on it.

moto 5.x differs from AWS Secrets Manager on three points that a rotation function relies on,
and from STS on one that the drift check's role proof relies on. This wrapper patches exactly
those four, then runs `moto.server` with the given arguments:

1. RotateSecret: AWS creates an empty version labelled AWSPENDING under the client request token
   and then invokes the rotation function; it never moves AWSCURRENT itself. moto, when it has
   no runnable Lambda, labels the new empty version AWSCURRENT instead.
2. PutSecretValue with a token that already names a version: AWS fills in a version that has no
   value yet, accepts the identical value again, and refuses a different value with
   ResourceExistsException. moto accepts any value for an AWSPENDING version.
3. UpdateSecretVersionStage moving AWSCURRENT: AWS serves the new version to an unlabelled
   GetSecretValue at once. moto keeps answering with the old one.
4. AssumeRole of a role whose trust policy requires an external id (`StringEquals`
   `sts:ExternalId`): AWS refuses a call without that external id with AccessDenied. moto
   assumes any role, existing or not, ignoring its trust policy. Roles that do not exist in
   moto's IAM keep moto's behaviour (tests assume roles they never create).

5. RotateSecret then invokes the secret's rotation function for createSecret, setSecret,
   testSecret and finishSecret in turn, as AWS does, stopping at the first step that fails (AWS
   leaves the rotation to be retried). moto's own RotateSecret does invoke it, but point 1
   replaces that method. Functions moto's Lambda backend does not know keep point 1's behaviour:
   most tests drive the steps themselves with an ARN nothing serves, while the deployed suite
   (`npm run test:deployed`) creates the rotation function from the synthesized bundle, which
   moto runs in the project's Lambda runtime image (MOTO_DOCKER_LAMBDA_IMAGE).

6. ListSecretVersionIds: AWS reports each version's CreatedDate (the drift check ages a
   custom-label pin by it) and sends NextToken only when there is another page. moto reports the
   time of the call for every version, and an empty NextToken.

Functions moto runs in Docker reach moto at FBB_MOTO_LAMBDA_HOST (default http://127.0.0.1,
with MOTO_DOCKER_NETWORK_MODE=host) on MOTO_PORT, instead of moto's host.docker.internal, so
no traffic leaves the loopback interface.

test/integration/services/moto-aws-semantics.test.ts shows points 1-4 and 6 behaving as AWS does;
test/deployed/rotation.test.ts shows point 5.
"""

import json
import os
import sys
import time

import moto
from moto import settings
from moto.moto_api._internal import mock_random
from moto.secretsmanager import models
from moto.iam.models import iam_backends
from moto.sts import models as sts_models
from moto.sts.exceptions import STSClientError
from moto.secretsmanager.exceptions import (
    InvalidRequestException,
    ResourceExistsException,
    SecretNotFoundException,
)

SUPPORTED_MAJOR = "5."
if not moto.__version__.startswith(SUPPORTED_MAJOR):
    sys.exit(f"moto_server.py patches moto {SUPPORTED_MAJOR}x internals; found moto {moto.__version__}")

Backend = models.SecretsManagerBackend


def rotate_secret(self, secret_id, client_request_token=None, rotation_lambda_arn=None,
                  rotation_rules=None, rotate_immediately=True):
    """Point 1: an empty AWSPENDING version under the token; AWSCURRENT stays where it is."""
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    secret = self.secrets[secret_id]
    if secret.is_deleted():
        raise InvalidRequestException("You tried to perform the operation on a secret that's currently marked deleted.")
    pending = [v for v in secret.versions.values() if "AWSPENDING" in v["version_stages"]]
    if pending and "AWSCURRENT" not in pending[0]["version_stages"] and rotate_immediately:
        # AWS refuses a new rotation while another one's AWSPENDING is still attached elsewhere,
        # unless the same token is retried.
        if pending[0]["version_id"] != client_request_token:
            raise InvalidRequestException("A previous rotation isn't complete. That rotation will be reattempted.")
    if client_request_token:
        self._client_request_token_validator(client_request_token)
    token = client_request_token or str(mock_random.uuid4())
    if token not in secret.versions:
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
    if rotation_lambda_arn:
        secret.rotation_lambda_arn = rotation_lambda_arn
    if rotation_rules and "AutomaticallyAfterDays" in rotation_rules:
        secret.auto_rotate_after_days = rotation_rules["AutomaticallyAfterDays"]
    secret.rotation_enabled = bool(secret.rotation_lambda_arn)
    secret.rotation_requested = True
    secret.last_rotation_date = int(time.time())
    invoke_rotation_function(self, secret, token, rotate_immediately)
    return secret.to_short_dict(version_id=token)


def rotation_functions_of(backend, secret):
    """moto's Lambda backend when it runs the secret's rotation function, else None (point 5)."""
    if not secret.rotation_lambda_arn:
        return None
    from moto.awslambda.utils import get_backend

    lambdas = get_backend(backend.account_id, backend.region_name)
    try:
        lambdas.get_function(secret.rotation_lambda_arn)
    except Exception:
        return None  # no such function here: the test drives the steps itself
    return lambdas


def invoke_step(lambdas, secret, step, token):
    """One step through the rotation function; whether it succeeded."""
    response_headers = {}
    lambdas.invoke(
        secret.rotation_lambda_arn,
        qualifier=None,
        body=json.dumps({"Step": step, "SecretId": secret.arn, "ClientRequestToken": token}),
        headers={},
        response_headers=response_headers,
    )
    return not response_headers.get("x-amz-function-error")


def invoke_rotation_function(backend, secret, token, rotate_immediately):
    """Point 5: the four steps in turn, stopping at the first that fails (AWS retries later)."""
    lambdas = rotation_functions_of(backend, secret)
    if lambdas is None:
        return
    if not rotate_immediately:
        # AWS only tests the configuration: testSecret on an AWSPENDING copy of AWSCURRENT, which
        # it removes again whatever the outcome.
        current = secret.versions[secret.default_version_id]
        pending = secret.versions[token]
        for field in ("secret_string", "secret_binary"):
            if field in current:
                pending[field] = current[field]
        try:
            invoke_step(lambdas, secret, "testSecret", token)
        finally:
            del secret.versions[token]
        return
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        if not invoke_step(lambdas, secret, step, token):
            return


original_check = Backend._check_with_existing_secrets_and_versions


def check_with_existing_secrets_and_versions(self, secret_name, client_request_token, secret_string,
                                             secret_binary, on_create=False):
    """Point 2: a token's version may get a value once; the same value again is fine, another is not."""
    secret = self.secrets.get(secret_name)
    version = secret.versions.get(client_request_token) if secret is not None and client_request_token else None
    if version is not None and "AWSPENDING" in version.get("version_stages", []):
        has_value = "secret_string" in version or "secret_binary" in version
        if not has_value:
            return None
        if version.get("secret_string") == secret_string and version.get("secret_binary") == secret_binary:
            return secret
        raise ResourceExistsException(
            f"You can't use ClientRequestToken {client_request_token} because that value is already in use "
            f"for a version of secret {secret.arn}."
        )
    return original_check(self, secret_name, client_request_token, secret_string, secret_binary, on_create)


original_update_stage = Backend.update_secret_version_stage


def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
    """Point 3: moving AWSCURRENT changes what an unlabelled GetSecretValue returns."""
    answer = original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    if version_stage == "AWSCURRENT" and move_to_version_id:
        self.secrets[secret_id].set_default_version_id(move_to_version_id)
    return answer


original_list_version_ids = Backend.list_secret_version_ids


def list_secret_version_ids(self, secret_id):
    """Point 6: each version's own creation date; no NextToken on the last page."""
    answer = json.loads(original_list_version_ids(self, secret_id))
    versions = self.secrets[secret_id].versions
    for entry in answer.get("Versions", []):
        version = versions.get(entry["VersionId"], {})
        if "createdate" in version:
            entry["CreatedDate"] = version["createdate"]
    if not answer.get("NextToken"):
        answer.pop("NextToken", None)
    return json.dumps(answer)


class AccessDenied(STSClientError):
    code = "AccessDenied"


def external_ids_required(role_arn):
    """The external ids the role's trust policy accepts, or None when it requires none (or is unknown)."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        return None
    try:
        document = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return None
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    accepted = set()
    for statement in statements:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        values = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if values is None:
            return None  # one statement admits callers without an external id
        accepted.update(values if isinstance(values, list) else [values])
    return accepted or None


original_assume_role = sts_models.STSBackend.assume_role


def assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id):
    """Point 4: a trust policy's sts:ExternalId condition is enforced."""
    accepted = external_ids_required(role_arn)
    if accepted is not None and external_id not in accepted:
        raise AccessDenied(
            f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
    return original_assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id)


Backend.rotate_secret = rotate_secret
# Lambda containers on the host network reach moto on the loopback interface.
settings.moto_server_host = lambda: os.environ.get("FBB_MOTO_LAMBDA_HOST", "http://127.0.0.1")
sts_models.STSBackend.assume_role = assume_role
Backend._check_with_existing_secrets_and_versions = check_with_existing_secrets_and_versions
Backend.update_secret_version_stage = update_secret_version_stage
Backend.list_secret_version_ids = list_secret_version_ids

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
