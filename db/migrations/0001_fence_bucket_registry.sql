-- The bucket registry of record (DESIGN.md "Registry record"): one row per bucket, never a
-- credential. The database keeps `revision`, `created_at` and `updated_at` itself (trigger
-- below), so every writer, the broker or a hand edit in psql, bumps the revision the DynamoDB
-- mirror is synced by. Enumerations are CHECK constraints on text, so a later release can widen
-- one with a plain ALTER.

CREATE TABLE fence_bucket_registry (
  id                  uuid        PRIMARY KEY,
  bucket_name         text        NOT NULL,
  provider            text        NOT NULL,
  auth_mode           text        NOT NULL,
  secrets_backend     text,
  secret_ref          text,
  secret_version      text,
  role_arn            text,
  external_id         text,
  gcp_service_account text,
  kms_key_ref         text,
  endpoint            text,
  region              text,
  allowed_ops         text[]      NOT NULL,
  max_expires_in      integer     NOT NULL DEFAULT 3600,
  status              text        NOT NULL DEFAULT 'active',
  created_at          timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at          timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  revision            integer     NOT NULL DEFAULT 1,
  CONSTRAINT fence_bucket_registry_bucket_name_key UNIQUE (bucket_name),
  CONSTRAINT fence_bucket_registry_bucket_name_check
    CHECK (bucket_name ~ '^[a-z0-9][a-z0-9._-]*[a-z0-9]$' AND length(bucket_name) BETWEEN 3 AND 222),
  CONSTRAINT fence_bucket_registry_provider_check
    CHECK (provider IN ('aws', 'gcp', 's3_compatible', 'minio', 'azure_blob')),
  CONSTRAINT fence_bucket_registry_auth_mode_check
    CHECK (auth_mode IN ('role', 'static', 'workload_identity')),
  CONSTRAINT fence_bucket_registry_secrets_backend_check
    CHECK (secrets_backend IN ('aws_sm', 'gcp_sm', 'vault', 'k8s')),
  CONSTRAINT fence_bucket_registry_allowed_ops_check
    CHECK (cardinality(allowed_ops) >= 1
      AND allowed_ops <@ ARRAY['download', 'upload', 'multipart', 'list']::text[]),
  CONSTRAINT fence_bucket_registry_max_expires_in_check
    CHECK (max_expires_in BETWEEN 1 AND 604800),
  CONSTRAINT fence_bucket_registry_status_check
    CHECK (status IN ('active', 'suspended')),
  CONSTRAINT fence_bucket_registry_revision_check
    CHECK (revision >= 1)
);

COMMENT ON TABLE fence_bucket_registry IS
  'fence-bucket-broker: bucket registry of record, mirrored into DynamoDB. No credentials: secret_ref only.';

-- Timestamps are kept to the millisecond, as the records carry them (ISO 8601 with milliseconds),
-- so what the mirror holds is exactly what this table holds.
CREATE FUNCTION fence_bucket_registry_versioning() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.revision := 1;
    NEW.created_at := date_trunc('milliseconds', now());
    NEW.updated_at := NEW.created_at;
  ELSE
    NEW.revision := OLD.revision + 1;
    NEW.created_at := OLD.created_at;
    -- Never earlier than the last write, even from a transaction that started before it.
    NEW.updated_at := greatest(date_trunc('milliseconds', now()), OLD.updated_at);
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER fence_bucket_registry_versioning
  BEFORE INSERT OR UPDATE ON fence_bucket_registry
  FOR EACH ROW EXECUTE FUNCTION fence_bucket_registry_versioning();
