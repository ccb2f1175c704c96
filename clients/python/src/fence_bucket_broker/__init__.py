"""Client for the fence-bucket-broker presign API, and an adapter for Gen3 Fence's signed-URL code.

from fence_bucket_broker import AuditUser, BrokerClient

broker = BrokerClient.from_env()  # FENCE_BUCKET_BROKER_URL; IRSA credentials in a Fence pod
url = broker.presign("my-bucket", "data/file.bam", user=AuditUser("42", "alice")).url
"""

from .client import BROKER_DEADLINE_ENV, BROKER_REGION_ENV, BROKER_URL_ENV, BrokerClient, Multipart
from .errors import (
    ERROR_CLASSES,
    BrokerError,
    BrokerUnreachable,
    BucketExists,
    BucketMisconfigured,
    BucketSuspended,
    CallerNotAllowed,
    CredentialsRejected,
    EndpointNotAllowed,
    InternalError,
    InvalidRequest,
    InvalidSecret,
    MethodNotAllowed,
    OperationNotAllowed,
    PayloadTooLarge,
    RegistryUnavailable,
    RevisionConflict,
    RotationNotConfigured,
    SecretBackendUnavailable,
    SecretExists,
    StoreUnavailable,
    StoreUnreachable,
    Throttled,
    UnknownBucket,
    UnknownRoute,
    UnknownSecret,
)
from .models import AuditUser, CompletedPart, MultipartUpload, PartUrl, PresignedUrl, PresignItem

__all__ = [
    "BROKER_DEADLINE_ENV",
    "BROKER_REGION_ENV",
    "BROKER_URL_ENV",
    "ERROR_CLASSES",
    "AuditUser",
    "BrokerClient",
    "BrokerError",
    "BrokerUnreachable",
    "BucketExists",
    "BucketMisconfigured",
    "BucketSuspended",
    "CallerNotAllowed",
    "CompletedPart",
    "CredentialsRejected",
    "EndpointNotAllowed",
    "InternalError",
    "InvalidRequest",
    "InvalidSecret",
    "MethodNotAllowed",
    "Multipart",
    "MultipartUpload",
    "OperationNotAllowed",
    "PartUrl",
    "PayloadTooLarge",
    "PresignItem",
    "PresignedUrl",
    "RegistryUnavailable",
    "RevisionConflict",
    "RotationNotConfigured",
    "SecretBackendUnavailable",
    "SecretExists",
    "StoreUnavailable",
    "StoreUnreachable",
    "Throttled",
    "UnknownBucket",
    "UnknownRoute",
    "UnknownSecret",
]
