import {
  createHash,
  createPublicKey,
  createVerify,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readBody } from './request-body';

/**
 * A small, faithful fake of the Google endpoints the broker calls, on 127.0.0.1:
 *
 * - Secret Manager v1 (REST, as `service.proto`'s HTTP bindings publish it): create a secret
 *   (replication, labels, annotations, rotation, `ttl`/`expireTime`), get it, patch it (fields
 *   named by `updateMask`), add a version, list versions (newest first, paged), get and access
 *   a version (`N` or `latest`), disable, enable and destroy a version; a secret past its
 *   `expireTime` is deleted, as Secret Manager deletes it; errors in Google's shape
 *   `{"error": {"code", "message", "status"}}`;
 * - the OAuth token endpoint for service-account keys (JWT bearer grant: the JWT's signature
 *   is checked against the key's public half);
 * - Google STS token exchange for AWS workload identity federation: the subject token must be a
 *   GetCallerIdentity request signed for the configured audience; it is sent on to the AWS STS
 *   it names (moto here), and the caller's ARN becomes the federated principal;
 * - IAM Credentials `generateAccessToken` (impersonation) and `signBlob` (with keys only it holds);
 * - GCS's XML API for V4 signed URLs: GET, HEAD, PUT and DELETE of objects, and XML API
 *   multipart uploads (initiate, upload a part, complete, abort), each URL's signature checked as
 *   GCS checks it (`verifyGcsV4Url`), then expiry, the bucket, the account's access and, on a
 *   requester-pays bucket, the billed project (`userProject`); errors as GCS's XML API answers
 *   them (`<Error><Code>…</Code><Message>…</Message></Error>`).
 *
 * Every Secret Manager call needs a bearer token this fake issued and has not revoked (401
 * `UNAUTHENTICATED` otherwise); `allow` decides which principal holds which of Secret Manager's
 * IAM permissions on which secret (403 `PERMISSION_DENIED` naming the permission), as IAM
 * bindings with conditions on the secret's name do.
 */
export class FakeGoogleCloud {
  /** Tokens issued: token → principal (`serviceAccount:x@p.iam…` or `aws:<arn>`). */
  readonly tokens = new Map<string, string>();
  /** Calls received, `METHOD /path`, for assertions on what was (not) called. */
  readonly calls: string[] = [];
  /** Service-account keys this fake can verify: email → public key. */
  private readonly accounts = new Map<string, KeyObject>();
  /** Keys Google holds for accounts (signBlob signs with them): email → private key. */
  private readonly googleHeldKeys = new Map<string, KeyObject>();
  /** GCS buckets: name → the service accounts that may read and write them, and whether the requester pays. */
  private readonly gcsBuckets = new Map<string, { accounts: Set<string>; requesterPays: boolean }>();
  /** GCS objects: `bucket/name` → content and content type. */
  private readonly gcsObjects = new Map<string, { data: Buffer; contentType?: string }>();
  /** XML API multipart uploads in progress: upload id → the object and its parts. */
  private readonly gcsUploads = new Map<string, GcsUpload>();
  /**
   * GCS requests that passed the signature check, `METHOD /bucket/object` with their query
   * parameters other than the signature's own (`X-Goog-*`), for assertions on what was sent and
   * which project was billed (`userProject`).
   */
  readonly gcsRequests: { method: string; path: string; query: Record<string, string> }[] = [];
  private readonly secrets = new Map<string, FakeSecret>();
  /** Who may act as a service account through generateAccessToken: email → principals. */
  private readonly impersonators = new Map<string, Set<string>>();
  /** Workload identity pool audience the STS accepts. */
  audience = '//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/aws/providers/aws';
  /**
   * Whether `principal` holds `permission` (Secret Manager's own names, e.g.
   * `secretmanager.versions.access`, `secretmanager.versions.add`) on `secret` (its full name);
   * undefined: every authenticated principal holds every permission.
   */
  allow: ((principal: string, secret: string, permission: SecretManagerPermission) => boolean) | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeGoogleCloud> {
    let fake: FakeGoogleCloud | undefined;
    const server = createServer((request, response) => {
      void fake?.handle(request, response).catch((error: unknown) => {
        send(response, 500, { error: { code: 500, message: String(error), status: 'INTERNAL' } });
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    fake = new FakeGoogleCloud(server, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** A new service account and its key file (`token_uri` pointing here). */
  serviceAccountKey(email = `sa-${crypto.randomUUID().slice(0, 8)}@project.iam.gserviceaccount.com`) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.accounts.set(email, publicKey);
    return {
      type: 'service_account' as const,
      project_id: 'project',
      private_key_id: crypto.randomUUID().replace(/-/g, ''),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: '1234567890',
      token_uri: `${this.url}/token`,
    };
  }

  /**
   * A service account whose key only Google holds (signBlob signs with it); returns the public
   * half, against which the signatures it makes can be checked.
   */
  googleManagedAccount(email: string): KeyObject {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.googleHeldKeys.set(email, privateKey);
    return publicKey;
  }

  /**
   * A GCS bucket that `accounts` (emails) may read and write through V4 signed URLs. With
   * `requesterPays`, every request must name the project to bill (`userProject`), as on a
   * bucket with Requester Pays enabled.
   */
  createGcsBucket(name: string, accounts: string[], options: { requesterPays?: boolean } = {}): void {
    this.gcsBuckets.set(name, { accounts: new Set(accounts), requesterPays: options.requesterPays === true });
  }

  /** The multipart uploads in progress on `bucket` (their object names), as listing uploads would show. */
  gcsUploadsOf(bucket: string): string[] {
    return [...this.gcsUploads.values()]
      .filter((upload) => upload.bucket === bucket)
      .map((upload) => upload.object);
  }

  /** Lets `principal` impersonate `email` (roles/iam.serviceAccountTokenCreator). */
  grantImpersonation(email: string, principal: string): void {
    const principals = this.impersonators.get(email) ?? new Set<string>();
    principals.add(principal);
    this.impersonators.set(email, principals);
  }

  /** An AWS external-account configuration for this fake, as `gcloud iam workload-identity-pools create-cred-config` writes it. */
  externalAccountConfig(options: { awsStsUrl: string; impersonate?: string }) {
    return {
      type: 'external_account',
      audience: this.audience,
      subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
      token_url: `${this.url}/v1/token`,
      ...(options.impersonate === undefined
        ? {}
        : {
            service_account_impersonation_url: `${this.url}/v1/projects/-/serviceAccounts/${options.impersonate}:generateAccessToken`,
          }),
      credential_source: {
        environment_id: 'aws1',
        region_url: 'http://169.254.169.254/latest/meta-data/placement/availability-zone',
        url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials',
        regional_cred_verification_url: `${options.awsStsUrl}?Action=GetCallerIdentity&Version=2011-06-15`,
      },
    };
  }

  /** Revokes the tokens issued so far to principals starting with `prefix` (their next call needs a new one). */
  revokeTokens(prefix = 'serviceAccount:'): void {
    for (const [token, principal] of this.tokens) if (principal.startsWith(prefix)) this.tokens.delete(token);
  }

  /** A token for `principal`, as if issued by one of the token endpoints (for driving the real npm client). */
  issue(principal: string): string {
    const token = `ya29.fake-${crypto.randomUUID()}`;
    this.tokens.set(token, principal);
    return token;
  }

  /** A secret's resource as `GET` answers it (undefined when there is none), for assertions. */
  secretResource(name: string) {
    const secret = this.liveSecret(name);
    return secret === undefined ? undefined : secretResource(name, secret);
  }

  /** The state of each version of a secret, by number. */
  versionStates(name: string): Record<string, string> {
    return Object.fromEntries(
      (this.liveSecret(name)?.versions ?? []).map((version) => [String(version.number), version.state]),
    );
  }

  /** Sets fields of a secret as an operator would (`rotation`, `labels`, …). */
  updateSecret(name: string, fields: Partial<Pick<FakeSecret, 'rotation' | 'labels' | 'annotations'>>): void {
    const secret = this.liveSecret(name);
    if (secret === undefined) throw new Error(`no secret ${name}`);
    Object.assign(secret, fields);
  }

  /** The secret, unless it expired: Secret Manager deletes a secret at its `expireTime`. */
  private liveSecret(name: string): FakeSecret | undefined {
    const secret = this.secrets.get(name);
    if (secret?.expireTime !== undefined && Date.parse(secret.expireTime) <= Date.now()) {
      this.secrets.delete(name);
      return undefined;
    }
    return secret;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<undefined> {
    const url = new URL(request.url ?? '/', this.url);
    const bytes = await readBody(request);
    if (url.searchParams.has('X-Goog-Signature')) return this.gcsXml(request, url, bytes, response);
    const body = bytes.toString('utf8');
    this.calls.push(`${request.method} ${url.pathname}`);
    if (request.method === 'POST' && url.pathname === '/token') return this.oauthToken(body, response);
    if (request.method === 'POST' && url.pathname === '/v1/token') return this.stsToken(body, response);
    const principal = this.tokens.get((request.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (principal === undefined)
      return googleError(response, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    const signBlob = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):signBlob$/.exec(url.pathname);
    if (request.method === 'POST' && signBlob !== null) {
      const email = decodeURIComponent(signBlob[1] ?? '');
      const key = this.googleHeldKeys.get(email);
      if (key === undefined || !this.impersonators.get(email)?.has(principal)) {
        return googleError(
          response,
          403,
          'PERMISSION_DENIED',
          `Permission 'iam.serviceAccounts.signBlob' denied on resource (or it may not exist).`,
        );
      }
      const payload = Buffer.from(String(JSON.parse(body || '{}').payload ?? ''), 'base64');
      return send(response, 200, {
        keyId: createHash('sha1').update(email).digest('hex'),
        signedBlob: sign('sha256', payload, key).toString('base64'),
      });
    }
    const impersonation = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(
      url.pathname,
    );
    if (request.method === 'POST' && impersonation !== null) {
      const email = decodeURIComponent(impersonation[1] ?? '');
      if (!this.impersonators.get(email)?.has(principal)) {
        return googleError(
          response,
          403,
          'PERMISSION_DENIED',
          `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`,
        );
      }
      return send(response, 200, {
        accessToken: this.issue(`serviceAccount:${email}`),
        expireTime: new Date(Date.now() + 3600_000).toISOString(),
      });
    }
    return this.secretManager(request.method ?? 'GET', url, body, principal, response);
  }

  /** OAuth 2.0 JWT bearer grant: checks the JWT against the service account's public key. */
  private oauthToken(body: string, response: ServerResponse): undefined {
    const form = new URLSearchParams(body);
    const [header, claims, signature] = (form.get('assertion') ?? '').split('.');
    const parsed =
      claims === undefined ? undefined : JSON.parse(Buffer.from(claims, 'base64url').toString('utf8'));
    const key = this.accounts.get(String(parsed?.iss));
    const valid =
      form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
      key !== undefined &&
      parsed.aud === `${this.url}/token` &&
      createVerify('RSA-SHA256')
        .update(`${header}.${claims}`)
        .verify(key, Buffer.from(signature ?? '', 'base64url'));
    if (!valid)
      return send(response, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    send(response, 200, {
      access_token: this.issue(`serviceAccount:${parsed.iss}`),
      expires_in: 3599,
      token_type: 'Bearer',
    });
  }

  /** Google STS: an AWS GetCallerIdentity request, signed for our audience, checked with AWS STS. */
  private async stsToken(body: string, response: ServerResponse): Promise<undefined> {
    const form = new URLSearchParams(body);
    const refuse = (why: string) => send(response, 400, { error: 'invalid_request', error_description: why });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange')
      return refuse('grant_type');
    if (form.get('audience') !== this.audience) return refuse('audience');
    if (form.get('subject_token_type') !== 'urn:ietf:params:aws:token-type:aws4_request')
      return refuse('subject_token_type');
    const subject = JSON.parse(decodeURIComponent(form.get('subject_token') ?? '{}')) as {
      url?: string;
      method?: string;
      headers?: { key: string; value: string }[];
    };
    const headers = Object.fromEntries(
      (subject.headers ?? []).map(({ key, value }) => [key.toLowerCase(), value]),
    );
    const authorization = headers.authorization ?? '';
    if (
      subject.method !== 'POST' ||
      headers['x-goog-cloud-target-resource'] !== this.audience ||
      !/^AWS4-HMAC-SHA256 Credential=\S+\/sts\/aws4_request, SignedHeaders=\S*x-goog-cloud-target-resource/.test(
        authorization,
      )
    ) {
      return refuse('subject_token is not a GetCallerIdentity request signed for this audience');
    }
    const aws = await fetch(String(subject.url), { method: 'POST', headers, body: '' });
    const arn = /<Arn>([^<]+)<\/Arn>/.exec(await aws.text())?.[1];
    if (!aws.ok || arn === undefined)
      return refuse('AWS did not accept the signed GetCallerIdentity request');
    send(response, 200, {
      access_token: this.issue(`aws:${arn}`),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3600,
    });
  }

  private secretManager(
    method: string,
    url: URL,
    body: string,
    principal: string,
    response: ServerResponse,
  ): undefined {
    const path = url.pathname;
    const create = /^\/v1\/(projects\/[^/]+)\/secrets$/.exec(path);
    if (method === 'POST' && create !== null) {
      const secretId = url.searchParams.get('secretId') ?? '';
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(secretId)) {
        return googleError(response, 400, 'INVALID_ARGUMENT', `Invalid secret id [${secretId}].`);
      }
      const name = `${create[1]}/secrets/${secretId}`;
      if (!this.permits(principal, name, 'secretmanager.secrets.create'))
        return this.denied(response, name, 'secretmanager.secrets.create');
      if (this.liveSecret(name) !== undefined)
        return googleError(response, 409, 'ALREADY_EXISTS', `Secret [${name}] already exists.`);
      const resource = JSON.parse(body || '{}');
      const invalid = invalidLabels(resource.labels);
      if (invalid !== undefined) return googleError(response, 400, 'INVALID_ARGUMENT', invalid);
      const secret: FakeSecret = {
        created: new Date().toISOString(),
        versions: [],
        replication: resource.replication ?? {},
        labels: resource.labels ?? {},
        annotations: resource.annotations ?? {},
        ...(resource.rotation === undefined ? {} : { rotation: resource.rotation }),
        ...expiryOf(resource),
      };
      this.secrets.set(name, secret);
      return send(response, 200, secretResource(name, secret));
    }
    const versionList = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)\/versions$/.exec(path);
    if (method === 'GET' && versionList !== null) {
      const name = versionList[1] ?? '';
      const secret = this.liveSecret(name);
      if (secret === undefined) return googleError(response, 404, 'NOT_FOUND', `Secret [${name}] not found.`);
      if (!this.permits(principal, name, 'secretmanager.versions.list'))
        return this.denied(response, name, 'secretmanager.versions.list');
      const pageSize = Math.min(Number(url.searchParams.get('pageSize') ?? '') || 25, 25_000);
      const offset = Number(url.searchParams.get('pageToken') ?? '0') || 0;
      const newestFirst = [...secret.versions].reverse();
      const page = newestFirst.slice(offset, offset + pageSize);
      // As Google answers: empty lists and the last page's token are left out.
      return send(response, 200, {
        ...(page.length === 0 ? {} : { versions: page.map((version) => versionResource(name, version)) }),
        ...(offset + pageSize < newestFirst.length ? { nextPageToken: String(offset + pageSize) } : {}),
        totalSize: newestFirst.length,
      });
    }
    const secretPath = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)(?::addVersion)?$/.exec(path);
    if (secretPath !== null) {
      const name = secretPath[1] ?? '';
      const secret = this.liveSecret(name);
      if (secret === undefined)
        return googleError(response, 404, 'NOT_FOUND', `Secret [${name}] not found or has no versions.`);
      const permission: SecretManagerPermission = path.endsWith(':addVersion')
        ? 'secretmanager.versions.add'
        : method === 'PATCH'
          ? 'secretmanager.secrets.update'
          : 'secretmanager.secrets.get';
      if (!this.permits(principal, name, permission)) return this.denied(response, name, permission);
      if (method === 'GET' && !path.endsWith(':addVersion'))
        return send(response, 200, secretResource(name, secret));
      if (method === 'PATCH' && !path.endsWith(':addVersion')) {
        const mask = (url.searchParams.get('updateMask') ?? '').split(',').filter((field) => field !== '');
        const patch = JSON.parse(body || '{}');
        const known = ['labels', 'annotations', 'rotation', 'ttl', 'expireTime', 'expire_time'];
        const unknown = mask.find((field) => !known.includes(field));
        if (mask.length === 0 || unknown !== undefined) {
          return googleError(
            response,
            400,
            'INVALID_ARGUMENT',
            `updateMask ${unknown === undefined ? 'is required' : `names ${unknown}, which cannot be updated`}.`,
          );
        }
        for (const field of mask) {
          if (field === 'ttl' || field === 'expireTime' || field === 'expire_time') {
            const expiry = expiryOf(patch);
            if (expiry.expireTime === undefined) delete secret.expireTime;
            else secret.expireTime = expiry.expireTime;
          } else if (field === 'rotation') {
            if (patch.rotation === undefined) delete secret.rotation;
            else secret.rotation = patch.rotation;
          } else {
            secret[field as 'labels' | 'annotations'] = patch[field] ?? {};
          }
        }
        return send(response, 200, secretResource(name, secret));
      }
      if (method === 'POST' && path.endsWith(':addVersion')) {
        const data = String(JSON.parse(body || '{}')?.payload?.data ?? '');
        const version: FakeVersion = {
          number: secret.versions.length + 1,
          data,
          state: 'ENABLED',
          created: new Date().toISOString(),
        };
        secret.versions.push(version);
        return send(response, 200, versionResource(name, version));
      }
    }
    const versionPath =
      /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)\/versions\/([^/:]+)(?::(access|disable|enable|destroy))?$/.exec(
        path,
      );
    if (versionPath !== null) {
      const [, name = '', id = '', action] = versionPath;
      const secret = this.liveSecret(name);
      const version =
        id === 'latest' ? secret?.versions.at(-1) : secret?.versions.find((v) => String(v.number) === id);
      if (secret === undefined || version === undefined) {
        return googleError(response, 404, 'NOT_FOUND', `Secret Version [${name}/versions/${id}] not found.`);
      }
      const permission: SecretManagerPermission =
        action === undefined
          ? 'secretmanager.versions.get'
          : (`secretmanager.versions.${action}` as SecretManagerPermission);
      if (!this.permits(principal, name, permission)) return this.denied(response, name, permission);
      if (method === 'GET' && action === undefined)
        return send(response, 200, versionResource(name, version));
      if (method === 'GET' && action === 'access') {
        if (version.state !== 'ENABLED') {
          return googleError(
            response,
            400,
            'FAILED_PRECONDITION',
            `Secret Version [${name}/versions/${version.number}] is in ${version.state} state.`,
          );
        }
        return send(response, 200, {
          name: `${name}/versions/${version.number}`,
          payload: { data: version.data },
        });
      }
      if (method === 'POST' && action !== undefined && action !== 'access') {
        if (version.state === 'DESTROYED' && action !== 'destroy') {
          return googleError(
            response,
            400,
            'FAILED_PRECONDITION',
            `Secret Version [${name}/versions/${version.number}] is in DESTROYED state.`,
          );
        }
        version.state = action === 'disable' ? 'DISABLED' : action === 'enable' ? 'ENABLED' : 'DESTROYED';
        if (version.state === 'DESTROYED') version.data = '';
        return send(response, 200, versionResource(name, version));
      }
    }
    googleError(response, 404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`);
  }

  /**
   * GCS's XML API for V4 signed URLs, checked as GCS checks them: the signature against the
   * signing account's public key, expiry, then the bucket, the account's access to it and, on a
   * requester-pays bucket, the project to bill; then the object or multipart operation.
   */
  private gcsXml(request: IncomingMessage, url: URL, body: Buffer, response: ServerResponse): undefined {
    const method = request.method ?? 'GET';
    const email = decodeURIComponent(url.searchParams.get('X-Goog-Credential') ?? '').split('/')[0] ?? '';
    const held = this.googleHeldKeys.get(email);
    const key = this.accounts.get(email) ?? (held === undefined ? undefined : createPublicKey(held));
    const headers: Record<string, string> = {};
    const contentType = request.headers['content-type'];
    if (contentType !== undefined) headers['content-type'] = contentType;
    const signed =
      key === undefined
        ? undefined
        : verifyGcsV4Url(`http://${request.headers.host}${request.url}`, method, headers, key);
    if (signed?.valid !== true) return xmlError(response, 403, 'SignatureDoesNotMatch');
    const date = url.searchParams.get('X-Goog-Date') ?? '';
    const issued = Date.parse(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    if (Date.now() > issued + Number(url.searchParams.get('X-Goog-Expires')) * 1000)
      return xmlError(response, 400, 'ExpiredToken');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const object = rest.map(decodeURIComponent).join('/');
    const query = Object.fromEntries([...url.searchParams].filter(([name]) => !name.startsWith('X-Goog-')));
    this.gcsRequests.push({ method, path: `/${bucket}/${object}`, query });
    const target = this.gcsBuckets.get(bucket);
    if (target === undefined) return xmlError(response, 404, 'NoSuchBucket');
    if (!target.accounts.has(email)) return xmlError(response, 403, 'AccessDenied');
    if (target.requesterPays && !query.userProject) return xmlError(response, 400, 'UserProjectMissing');
    if ('uploads' in query || 'uploadId' in query || 'partNumber' in query) {
      return this.gcsMultipart(method, bucket, object, query, body, contentType, response);
    }
    const path = `${bucket}/${object}`;
    if (method === 'PUT') {
      this.gcsObjects.set(path, { data: body, ...(contentType === undefined ? {} : { contentType }) });
      response.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
      return undefined;
    }
    if (method === 'POST') return xmlError(response, 400, 'InvalidArgument');
    const stored = this.gcsObjects.get(path);
    if (stored === undefined) return xmlError(response, 404, 'NoSuchKey');
    if (method === 'DELETE') {
      this.gcsObjects.delete(path);
      response.writeHead(204).end();
      return undefined;
    }
    response
      .writeHead(200, {
        'content-length': String(stored.data.length),
        ...(stored.contentType === undefined ? {} : { 'content-type': stored.contentType }),
      })
      .end(method === 'HEAD' ? undefined : stored.data);
    return undefined;
  }

  /**
   * XML API multipart uploads, as GCS runs them: `POST ?uploads` starts one, `PUT
   * ?partNumber&uploadId` stores a part (its ETag is the quoted MD5 of its bytes), `POST
   * ?uploadId` with a CompleteMultipartUpload body assembles the listed parts (ascending, each
   * ETag matching, each but the last at least 5 MiB) into the object, `DELETE ?uploadId` drops
   * the upload. An upload id belongs to one object: another object's URL gets NoSuchUpload.
   */
  private gcsMultipart(
    method: string,
    bucket: string,
    object: string,
    query: Record<string, string>,
    body: Buffer,
    contentType: string | undefined,
    response: ServerResponse,
  ): undefined {
    if (method === 'POST' && 'uploads' in query && !('uploadId' in query)) {
      const uploadId = randomBytes(48).toString('base64url');
      this.gcsUploads.set(uploadId, {
        bucket,
        object,
        parts: new Map(),
        ...(contentType === undefined ? {} : { contentType }),
      });
      return xmlAnswer(
        response,
        200,
        `<InitiateMultipartUploadResult xmlns='http://s3.amazonaws.com/doc/2006-03-01/'><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(object)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
      );
    }
    const upload = this.gcsUploads.get(query.uploadId ?? '');
    if (upload === undefined || upload.bucket !== bucket || upload.object !== object)
      return xmlError(response, 404, 'NoSuchUpload');
    if (method === 'PUT') {
      const partNumber = Number(query.partNumber);
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000)
        return xmlError(response, 400, 'InvalidArgument');
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      upload.parts.set(partNumber, { etag, data: body });
      response.writeHead(200, { etag }).end();
      return undefined;
    }
    if (method === 'DELETE') {
      this.gcsUploads.delete(query.uploadId ?? '');
      response.writeHead(204).end();
      return undefined;
    }
    if (method !== 'POST') return xmlError(response, 400, 'InvalidArgument');
    const xml = body.toString('utf8');
    const listed = [
      ...xml.matchAll(/<Part>\s*<PartNumber>(\d+)<\/PartNumber>\s*<ETag>([^<]*)<\/ETag>\s*<\/Part>/g),
    ].map(([, number, etag]) => ({ number: Number(number), etag: unescapeXml(etag ?? '') }));
    if (
      !/^\s*<CompleteMultipartUpload>[\s\S]*<\/CompleteMultipartUpload>\s*$/.test(xml) ||
      listed.length === 0
    )
      return xmlError(response, 400, 'MalformedXML');
    if (listed.some((part, index) => index > 0 && part.number <= (listed[index - 1]?.number ?? 0)))
      return xmlError(response, 400, 'InvalidPartOrder');
    const unquoted = (etag: string) => etag.replace(/^"|"$/g, '');
    const parts = listed.map((part) => ({ listed: part, stored: upload.parts.get(part.number) }));
    if (
      parts.some(
        ({ listed, stored }) => stored === undefined || unquoted(stored.etag) !== unquoted(listed.etag),
      )
    )
      return xmlError(response, 400, 'InvalidPart');
    if (
      parts.some(
        ({ stored }, index) => index < parts.length - 1 && (stored?.data.length ?? 0) < 5 * 1024 * 1024,
      )
    )
      return xmlError(response, 400, 'EntityTooSmall');
    const data = Buffer.concat(parts.map(({ stored }) => stored?.data ?? Buffer.alloc(0)));
    this.gcsObjects.set(`${bucket}/${object}`, {
      data,
      ...(upload.contentType === undefined ? {} : { contentType: upload.contentType }),
    });
    this.gcsUploads.delete(query.uploadId ?? '');
    // GCS's ETag for an object made this way is opaque, not an MD5 of the bytes.
    const etag = `"${createHash('sha256').update(data).digest('base64url').slice(0, 24)}"`;
    return xmlAnswer(
      response,
      200,
      `<CompleteMultipartUploadResult xmlns='http://s3.amazonaws.com/doc/2006-03-01/'><Location>${escapeXml(`${this.url}/${bucket}/${object}`)}</Location><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(object)}</Key><ETag>${escapeXml(etag)}</ETag></CompleteMultipartUploadResult>`,
    );
  }

  private permits(principal: string, secret: string, permission: SecretManagerPermission): boolean {
    return this.allow === undefined || this.allow(principal, secret, permission);
  }

  private denied(response: ServerResponse, name: string, permission: SecretManagerPermission): undefined {
    googleError(
      response,
      403,
      'PERMISSION_DENIED',
      `Permission '${permission}' denied for resource '${name}' (or it may not exist).`,
    );
  }
}

/** The Secret Manager IAM permissions the fake checks, one per call it serves. */
export type SecretManagerPermission =
  | 'secretmanager.secrets.create'
  | 'secretmanager.secrets.get'
  | 'secretmanager.secrets.update'
  | 'secretmanager.versions.add'
  | 'secretmanager.versions.list'
  | 'secretmanager.versions.get'
  | 'secretmanager.versions.access'
  | 'secretmanager.versions.disable'
  | 'secretmanager.versions.enable'
  | 'secretmanager.versions.destroy';

/** An XML API multipart upload in progress. */
interface GcsUpload {
  bucket: string;
  object: string;
  contentType?: string;
  parts: Map<number, { etag: string; data: Buffer }>;
}

/** GCS XML API error messages, for the codes this fake answers. */
const GCS_ERROR_MESSAGES: Record<string, string> = {
  SignatureDoesNotMatch:
    'The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.',
  ExpiredToken: 'The provided token has expired. Request signature expired.',
  NoSuchBucket: 'The specified bucket does not exist.',
  NoSuchKey: 'The specified key does not exist.',
  AccessDenied: 'Access denied.',
  UserProjectMissing: 'Bucket is a requester pays bucket but no user project provided.',
  NoSuchUpload: 'The requested upload was not found.',
  InvalidArgument: 'Invalid argument.',
  MalformedXML: 'The XML you provided was not well-formed or did not validate against our published schema.',
  InvalidPartOrder:
    'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  InvalidPart:
    "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
  EntityTooSmall: 'Your proposed upload is smaller than the minimum allowed object size.',
};

/** An XML API error answer: `<Error><Code>…</Code><Message>…</Message></Error>`. */
function xmlError(response: ServerResponse, status: number, code: string): undefined {
  return xmlAnswer(
    response,
    status,
    `<Error><Code>${code}</Code><Message>${escapeXml(GCS_ERROR_MESSAGES[code] ?? code)}</Message></Error>`,
  );
}

function xmlAnswer(response: ServerResponse, status: number, document: string): undefined {
  response.writeHead(status, { 'content-type': 'application/xml; charset=UTF-8' });
  response.end(`<?xml version='1.0' encoding='UTF-8'?>${document}`);
  return undefined;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function unescapeXml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

interface FakeSecret {
  created: string;
  versions: FakeVersion[];
  replication: unknown;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  rotation?: { nextRotationTime?: string; rotationPeriod?: string };
  expireTime?: string;
}

function secretResource(name: string, secret: FakeSecret) {
  return {
    name,
    replication: secret.replication,
    createTime: secret.created,
    ...(Object.keys(secret.labels).length === 0 ? {} : { labels: secret.labels }),
    ...(Object.keys(secret.annotations).length === 0 ? {} : { annotations: secret.annotations }),
    ...(secret.rotation === undefined ? {} : { rotation: secret.rotation }),
    ...(secret.expireTime === undefined ? {} : { expireTime: secret.expireTime }),
    etag: `"${createHash('sha1').update(JSON.stringify(secret.versions.length)).digest('hex').slice(0, 12)}"`,
  };
}

/** `ttl` (a Duration, `"86400s"`, input only) or `expireTime` of a Secret, as an expireTime. */
function expiryOf(resource: { ttl?: string; expireTime?: string; expire_time?: string }): {
  expireTime?: string;
} {
  if (typeof resource.ttl === 'string') {
    const seconds = Number.parseFloat(resource.ttl);
    return { expireTime: new Date(Date.now() + seconds * 1000).toISOString() };
  }
  const at = resource.expireTime ?? resource.expire_time;
  return typeof at === 'string' ? { expireTime: at } : {};
}

/** Secret Manager's label rules: keys start with a lowercase letter; keys and values ≤ 63 of [a-z0-9_-]. */
function invalidLabels(labels: unknown): string | undefined {
  if (labels === undefined) return undefined;
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(key)) return `Invalid label key [${key}].`;
    if (typeof value !== 'string' || !/^[a-z0-9_-]{0,63}$/.test(value))
      return `Invalid label value for [${key}].`;
  }
  return undefined;
}

interface FakeVersion {
  number: number;
  data: string;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  created: string;
}

function versionResource(secret: string, version: FakeVersion) {
  return {
    name: `${secret}/versions/${version.number}`,
    createTime: version.created,
    state: version.state,
    ...(version.state === 'DESTROYED' ? { destroyTime: new Date().toISOString() } : {}),
  };
}

/** Google's error shape; `details` as the real API sends it is left out (clients do not need it). */
function googleError(response: ServerResponse, code: number, status: string, message: string): undefined {
  return send(response, code, { error: { code, message, status } });
}

function send(response: ServerResponse, status: number, body: unknown): undefined {
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
  return undefined;
}

/**
 * Checks a GCS V4 signed URL the way GCS does, from the URL alone (plus the headers the client
 * will send): rebuilds the canonical request and the string to sign, and verifies the signature
 * with `publicKey`. Independent of the broker's presigner: it parses, the presigner builds.
 */
export function verifyGcsV4Url(
  url: string,
  method: string,
  headers: Record<string, string>,
  publicKey: KeyObject,
): { valid: boolean; email: string } {
  const parsed = new URL(url);
  const pairs = parsed.search
    .slice(1)
    .split('&')
    .map((pair) => pair.split('=') as [string, string]);
  const signature = pairs.find(([name]) => name === 'X-Goog-Signature')?.[1] ?? '';
  const field = (name: string) => decodeURIComponent(pairs.find(([key]) => key === name)?.[1] ?? '');
  const signedHeaders = field('X-Goog-SignedHeaders').split(';');
  const values: Record<string, string> = { host: parsed.host };
  for (const [name, value] of Object.entries(headers)) values[name.toLowerCase()] = value;
  const canonicalRequest = [
    method,
    parsed.pathname,
    pairs
      .filter(([name]) => name !== 'X-Goog-Signature')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) => `${name}=${value}`)
      .join('&'),
    signedHeaders.map((name) => `${name}:${String(values[name]).trim()}\n`).join(''),
    signedHeaders.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const [email = '', ...scope] = field('X-Goog-Credential').split('/');
  const stringToSign = [
    field('X-Goog-Algorithm'),
    field('X-Goog-Date'),
    scope.join('/'),
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  return {
    valid: verify('sha256', Buffer.from(stringToSign), publicKey, Buffer.from(signature, 'hex')),
    email,
  };
}
