import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Pair,
  parseDocument,
  visit,
  type YAMLMap,
} from 'yaml';
import { InvalidRequestError } from '../errors';

/**
 * What the migration reads from Fence's `fence-config.yaml` (the settings of Fence's own
 * `config-default.yaml`): `AWS_CREDENTIALS` (name → `aws_access_key_id`, `aws_secret_access_key`)
 * and `S3_BUCKETS` (bucket → `cred`, `region`, `endpoint_url`, `role-arn`; `cred: '*'` marks a
 * public bucket). Values are read through the `yaml` Document API, which also gives the source
 * ranges the rewrite edits, so nothing else in the file is ever re-serialized.
 */

export const ACCESS_KEY_FIELD = 'aws_access_key_id';
export const SECRET_KEY_FIELD = 'aws_secret_access_key';
/** What replaces the keys of a migrated credential in the file. */
export const SECRET_REF_FIELD = 'secret_ref';
/** `cred` of a public bucket: Fence signs nothing for it. */
export const PUBLIC_CRED = '*';

/**
 * Settings of Fence that name an `AWS_CREDENTIALS` entry outside `S3_BUCKETS`. Removing the keys
 * of such an entry would break that use, so it needs `--remove-shared-credentials`.
 */
export const OTHER_CREDENTIAL_USES: readonly (readonly string[])[] = [
  ['PUSH_AUDIT_LOGS_CONFIG', 'aws_sqs_config', 'aws_cred'],
];

/**
 * The largest `fence-config.yaml` migrate reads: Fence's own files are tens of KiB, and a cap
 * bounds what a wrong path (a log, a dump, a device) costs before anything is parsed.
 */
export const MAX_FENCE_CONFIG_BYTES = 1024 * 1024;

/** Credential names become part of a secret name: Secrets Manager's characters, no path separators. */
const CREDENTIAL_NAME = /^[A-Za-z0-9_+=.@-]{1,128}$/;

export interface StaticKeys {
  access_key_id: string;
  secret_access_key: string;
}

/** One `AWS_CREDENTIALS` entry. */
export interface FenceCredential {
  name: string;
  /** The keys, while the file still holds them. */
  keys: StaticKeys | undefined;
  /** Both key fields are present but empty (Fence's default `CRED1`): nothing to move. */
  empty: boolean;
  /** Where an earlier migration moved the keys (`secret_ref`), when it did. */
  secretRef: string | undefined;
  /** Why the entry cannot be migrated as it is; never quotes a value. */
  problem: string | undefined;
  /** Settings outside `S3_BUCKETS` that use this credential, as dotted paths. */
  otherUses: string[];
  /** The entry's pair in the parsed document, for the rewrite. */
  pair: Pair<unknown, unknown>;
}

/** One `S3_BUCKETS` entry. */
export interface FenceBucket {
  name: string;
  cred: string | undefined;
  region: string | undefined;
  endpointUrl: string | undefined;
  roleArn: string | undefined;
  /** Named by `DATA_UPLOAD_BUCKET` or `ALLOWED_DATA_UPLOAD_BUCKETS`: Fence uploads to it. */
  upload: boolean;
  /** Why the entry cannot be migrated as it is; never quotes a value. */
  problem: string | undefined;
}

export interface FenceConfig {
  source: string;
  document: Document.Parsed;
  /** The `AWS_CREDENTIALS` mapping node, when there is one. */
  credentialsNode: YAMLMap<unknown, unknown> | undefined;
  credentials: Map<string, FenceCredential>;
  buckets: FenceBucket[];
  /** `MAX_PRESIGNED_URL_TTL`, Fence's cap on URL lifetime, when set. */
  maxPresignedUrlTtl: number | undefined;
  /** Things the migration leaves alone on purpose, for the summary. */
  notes: string[];
}

/**
 * Parses `fence-config.yaml`. A syntax error is reported by line and column and YAML's error
 * code only: YAML's own messages quote the offending source, which may be a key.
 */
export function readFenceConfig(source: string, fileName = 'fence-config.yaml'): FenceConfig {
  const document = parseDocument(source, FENCE_YAML_OPTIONS);
  const error = document.errors[0];
  if (error !== undefined) {
    throw new InvalidRequestError(
      `${fileName} is not valid YAML (${error.code} at ${position(source, error.pos[0])})`,
      'config',
    );
  }
  if (!isMap(document.contents)) {
    throw new InvalidRequestError(`${fileName} must be a mapping of Fence settings`, 'config');
  }
  refuseDuplicateKeys(document, source, fileName);
  refuseAliasExpansion(document, fileName);
  const notes: string[] = [];
  const credentialsNode = mapAt(document, 'AWS_CREDENTIALS', fileName);
  const bucketsNode = mapAt(document, 'S3_BUCKETS', fileName);

  const uses = new Map<string, string[]>();
  for (const path of OTHER_CREDENTIAL_USES) {
    const value = document.getIn(path);
    if (typeof value === 'string' && value !== '') {
      uses.set(value, [...(uses.get(value) ?? []), path.join('.')]);
    }
  }

  const credentials = new Map<string, FenceCredential>();
  for (const pair of credentialsNode?.items ?? []) {
    const name = scalarText(pair.key);
    if (name === undefined) continue;
    credentials.set(name, readCredential(name, pair, uses.get(name) ?? []));
  }

  const uploads = new Set<string>();
  const dataUpload = document.get('DATA_UPLOAD_BUCKET');
  if (typeof dataUpload === 'string') uploads.add(dataUpload);
  const allowedUploads = document.get('ALLOWED_DATA_UPLOAD_BUCKETS');
  if (isSeq(allowedUploads)) {
    for (const item of allowedUploads.items) {
      const bucket = scalarText(item);
      if (bucket !== undefined) uploads.add(bucket);
    }
  }

  const buckets: FenceBucket[] = [];
  for (const pair of bucketsNode?.items ?? []) {
    const name = scalarText(pair.key);
    if (name === undefined) continue;
    buckets.push(readBucket(name, pair.value, uploads.has(name), credentials));
  }

  const used = new Set(buckets.map((bucket) => bucket.cred));
  for (const credential of credentials.values()) {
    if (!used.has(credential.name) && credential.keys !== undefined) {
      notes.push(
        `AWS_CREDENTIALS.${credential.name} is used by no bucket in S3_BUCKETS${credential.otherUses.length ? ` (only by ${credential.otherUses.join(', ')})` : ''}: left in the file`,
      );
    }
  }
  const storage = document.get('STORAGE_CREDENTIALS');
  if (isMap(storage) && storage.items.length > 0) {
    notes.push(
      `STORAGE_CREDENTIALS has ${storage.items.length} entr${storage.items.length === 1 ? 'y' : 'ies'} (other storage backends): not migrated`,
    );
  }

  const ttl = document.get('MAX_PRESIGNED_URL_TTL');
  return {
    source,
    document,
    credentialsNode,
    credentials,
    buckets,
    maxPresignedUrlTtl: typeof ttl === 'number' && Number.isInteger(ttl) && ttl > 0 ? ttl : undefined,
    notes,
  };
}

/**
 * How migrate parses Fence's file. Duplicate keys are accepted here because Fence's loader
 * (PyYAML) accepts them, the last one winning, and Fence's own config-default.yaml has one (a
 * dbGaP setting); `refuseDuplicateKeys` then refuses those in the settings migrate reads.
 */
export const FENCE_YAML_OPTIONS = {
  prettyErrors: false,
  keepSourceTokens: false,
  uniqueKeys: false,
} as const;

/** The top-level settings migrate reads or rewrites. */
const READ_SETTINGS = [
  'AWS_CREDENTIALS',
  'S3_BUCKETS',
  'DATA_UPLOAD_BUCKET',
  'ALLOWED_DATA_UPLOAD_BUCKETS',
  'MAX_PRESIGNED_URL_TTL',
  ...OTHER_CREDENTIAL_USES.map((path) => path[0] ?? ''),
];

/**
 * A duplicate key where migrate reads is refused: the `yaml` library reads the first of two
 * entries and Fence the last, so the keys migrate moves out could be another entry's than the ones
 * Fence uses, and a second entry's keys would stay in the file. Reported by position only (a key
 * could be a secret's value).
 */
function refuseDuplicateKeys(document: Document.Parsed, source: string, fileName: string): void {
  const refuse = (key: unknown): never => {
    const at = (key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
    throw new InvalidRequestError(
      `${fileName} has a duplicate key at ${position(source, at)} in a setting fence-buckets migrate reads (Fence would use the last one): keep one`,
      'config',
    );
  };
  const checkMap = (map: YAMLMap<unknown, unknown>, only?: readonly string[]) => {
    const seen = new Set<unknown>();
    for (const pair of map.items) {
      const name = isScalar(pair.key) ? pair.key.value : pair.key;
      if (only !== undefined && !only.includes(String(name))) continue;
      if (seen.has(name)) refuse(pair.key);
      seen.add(name);
    }
  };
  const top = document.contents as YAMLMap<unknown, unknown>;
  checkMap(top, READ_SETTINGS);
  for (const pair of top.items) {
    if (!isScalar(pair.key) || !READ_SETTINGS.includes(String(pair.key.value))) continue;
    if (!isMap(pair.value) && !isSeq(pair.value)) continue;
    visit(pair.value, {
      Map: (_, map) => checkMap(map as YAMLMap<unknown, unknown>),
    });
  }
}

/** `line L, column C` of an offset of the source. */
function position(source: string, offset: number): string {
  const before = source.slice(0, offset);
  return `line ${before.split('\n').length}, column ${offset - before.lastIndexOf('\n')}`;
}

function mapAt(
  document: Document.Parsed,
  key: string,
  fileName: string,
): YAMLMap<unknown, unknown> | undefined {
  const node = document.get(key, true);
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) return undefined;
  if (!isMap(node)) throw new InvalidRequestError(`${fileName}: ${key} must be a mapping`, 'config');
  return node;
}

function readCredential(name: string, pair: Pair<unknown, unknown>, otherUses: string[]): FenceCredential {
  const credential: FenceCredential = {
    name,
    keys: undefined,
    empty: false,
    secretRef: undefined,
    problem: undefined,
    otherUses,
    pair,
  };
  const entry = pair.value;
  if (!CREDENTIAL_NAME.test(name) || name === '.' || name === '..') {
    credential.problem = `AWS_CREDENTIALS key ${JSON.stringify(name.slice(0, 64))} cannot name a secret (letters, digits and _+=.@- only)`;
    return credential;
  }
  if (isAlias(entry) || !isMap(entry)) {
    credential.problem = `AWS_CREDENTIALS.${name} is not a mapping of keys${isAlias(entry) ? ' (a YAML alias)' : ''}`;
    return credential;
  }
  const accessKey = entry.get(ACCESS_KEY_FIELD, true);
  const secretKey = entry.get(SECRET_KEY_FIELD, true);
  const secretRef = entry.get(SECRET_REF_FIELD);
  const hasKeys = accessKey !== undefined || secretKey !== undefined;
  if (hasKeys && secretRef !== undefined) {
    credential.problem = `AWS_CREDENTIALS.${name} holds both keys and ${SECRET_REF_FIELD}: keep one`;
    return credential;
  }
  if (!hasKeys) {
    if (typeof secretRef === 'string' && secretRef !== '') credential.secretRef = secretRef;
    else credential.problem = `AWS_CREDENTIALS.${name} has no ${ACCESS_KEY_FIELD} and ${SECRET_KEY_FIELD}`;
    return credential;
  }
  const accessKeyId = isScalar(accessKey) && !isAlias(accessKey) ? accessKey.value : undefined;
  const secretAccessKey = isScalar(secretKey) && !isAlias(secretKey) ? secretKey.value : undefined;
  const blank = (value: unknown) => value === '' || value === null;
  credential.empty = blank(accessKeyId) && blank(secretAccessKey);
  if (typeof accessKeyId !== 'string' || accessKeyId === '') {
    credential.problem = `AWS_CREDENTIALS.${name}.${ACCESS_KEY_FIELD} is missing or not a plain string`;
  } else if (typeof secretAccessKey !== 'string' || secretAccessKey === '') {
    credential.problem = `AWS_CREDENTIALS.${name}.${SECRET_KEY_FIELD} is missing or not a plain string`;
  } else {
    credential.keys = { access_key_id: accessKeyId, secret_access_key: secretAccessKey };
  }
  return credential;
}

function readBucket(
  name: string,
  entry: unknown,
  upload: boolean,
  credentials: Map<string, FenceCredential>,
): FenceBucket {
  const bucket: FenceBucket = {
    name,
    cred: undefined,
    region: undefined,
    endpointUrl: undefined,
    roleArn: undefined,
    upload,
    problem: undefined,
  };
  if (!isMap(entry)) {
    bucket.problem = `S3_BUCKETS.${name} is not a mapping`;
    return bucket;
  }
  const setting = (key: string): string | undefined => {
    const value = entry.get(key);
    if (value === undefined || value === null || value === '') return undefined;
    return typeof value === 'string' ? value : String(value);
  };
  bucket.cred = setting('cred');
  bucket.region = setting('region');
  bucket.endpointUrl = setting('endpoint_url');
  bucket.roleArn = setting('role-arn');
  if (bucket.cred === undefined) bucket.problem = `S3_BUCKETS.${name} has no cred`;
  else if (bucket.cred !== PUBLIC_CRED && !credentials.has(bucket.cred)) {
    bucket.problem = `S3_BUCKETS.${name}.cred names ${bucket.cred}, which AWS_CREDENTIALS does not define`;
  }
  return bucket;
}

/** A scalar's text (keys and names), or undefined for anything else. */
function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  if (value === null || value === undefined) return undefined;
  return String(value);
}

/**
 * Resolves the whole document once under `yaml`'s default alias limit (`maxAliasCount` 100), so a
 * "billion laughs" file (each alias repeating the one before: a few hundred bytes that expand
 * ×10 per line) is refused before any secret is written. The rewrite's check resolves the
 * document again, under the same default: that limit is never raised anywhere in migrate.
 */
function refuseAliasExpansion(document: Document.Parsed, fileName: string): void {
  try {
    document.toJS();
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    throw new InvalidRequestError(
      `${fileName} has YAML aliases that do not resolve within the yaml library's limits (more expansion than its maxAliasCount of 100 allows, or an alias without its anchor): refused, as an alias bomb would exhaust the CPU`,
      'config',
      { cause: error },
    );
  }
}
