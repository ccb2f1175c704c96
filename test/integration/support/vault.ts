import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readEndpoints } from '../services/endpoints';
import { uniqueName } from './aws';

/** Root access to the run's OpenBao, for arranging tests (never the code under test). */
export class VaultRoot {
  constructor(
    readonly address: string,
    readonly rootToken: string,
  ) {}

  static ofRun(): VaultRoot {
    const { vault } = readEndpoints();
    return new VaultRoot(vault.address, vault.rootToken);
  }

  /** Calls `/v1/<path>` with the root token; throws on an error status other than 404. */
  // biome-ignore lint/suspicious/noExplicitAny: test helper over Vault's varied JSON bodies.
  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const answer = await fetch(`${this.address}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': this.rootToken, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await answer.text();
    const parsed = text === '' ? {} : JSON.parse(text);
    if (answer.status >= 400 && answer.status !== 404) {
      throw new Error(`OpenBao ${method} ${path}: ${answer.status} ${text}`);
    }
    return { status: answer.status, body: parsed };
  }

  /** Writes a KV v2 version at `secret/<path>`; returns its version number. */
  async writeSecret(path: string, data: Record<string, string>): Promise<number> {
    return (await this.call('POST', `secret/data/${path}`, { data })).body.data.version;
  }

  /** A read policy on `secret/data/<prefix>*` (and its metadata), named after the prefix. */
  async readPolicy(prefix: string): Promise<string> {
    const name = uniqueName('read');
    await this.call('PUT', `sys/policies/acl/${name}`, {
      policy: `path "secret/data/${prefix}*" { capabilities = ["read"] }\npath "secret/metadata/${prefix}*" { capabilities = ["read"] }`,
    });
    return name;
  }

  /** Enables an auth method at a mount of its own (each test file its own, so none collide). */
  async enableAuth(type: 'approle' | 'aws' | 'kubernetes'): Promise<string> {
    const mount = uniqueName(type);
    await this.call('POST', `sys/auth/${mount}`, { type });
    return mount;
  }

  /** The accessors of the live tokens that logged in through `mount`. */
  async liveTokensOf(mount: string): Promise<string[]> {
    const listed = await this.call('LIST', 'auth/token/accessors');
    const live: string[] = [];
    for (const accessor of (listed.body.data?.keys ?? []) as string[]) {
      const token = await this.call('POST', 'auth/token/lookup-accessor', { accessor });
      if (String(token.body.data?.path ?? '').startsWith(`auth/${mount}/`)) live.push(accessor);
    }
    return live;
  }

  /** Revokes every token that logged in through `mount` (the broker's included). */
  async revokeTokensOf(mount: string): Promise<number> {
    const listed = await this.call('LIST', 'auth/token/accessors');
    let revoked = 0;
    for (const accessor of listed.body.data.keys as string[]) {
      const token = await this.call('POST', 'auth/token/lookup-accessor', { accessor });
      if (String(token.body.data?.path ?? '').startsWith(`auth/${mount}/`)) {
        await this.call('POST', 'auth/token/revoke-accessor', { accessor });
        revoked++;
      }
    }
    return revoked;
  }

  /** A token with `policies`, as an operator would hand out for development. */
  async token(policies: string[], ttl = '1h'): Promise<string> {
    return (await this.call('POST', 'auth/token/create', { policies, ttl })).body.auth.client_token;
  }
}

/** A unique path under `gen3/fence/` for one test's secrets. */
export const uniqueSecretPath = (label: string) => `gen3/fence/${uniqueName(label)}`;

/**
 * A Kubernetes API that answers TokenReview only, as Vault's Kubernetes auth calls it: a token
 * it issued (`issue`) is authenticated as its service account, any other is not. Vault reads the
 * account's name, namespace and uid from the JWT's claims and checks them against the review.
 */
export class FakeTokenReview {
  /** TokenReviews answered. */
  reviews = 0;
  private readonly issued = new Map<string, { namespace: string; name: string; uid: string }>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeTokenReview> {
    let fake: FakeTokenReview | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        const account = fake?.issued.get(String(review?.spec?.token));
        if (fake !== undefined) fake.reviews++;
        const body = JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          status:
            account === undefined
              ? { authenticated: false, error: 'token not issued by this cluster' }
              : {
                  authenticated: true,
                  user: {
                    username: `system:serviceaccount:${account.namespace}:${account.name}`,
                    uid: account.uid,
                    groups: ['system:serviceaccounts', `system:serviceaccounts:${account.namespace}`],
                  },
                },
        });
        response.writeHead(201, { 'content-type': 'application/json' }).end(body);
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    fake = new FakeTokenReview(server, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** A projected service-account token (a JWT with Kubernetes' claims) that this API vouches for. */
  issue(namespace: string, name: string): string {
    const uid = crypto.randomUUID();
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const jwt = [
      encode({ alg: 'RS256', kid: 'test' }),
      encode({
        iss: 'kubernetes/serviceaccount',
        sub: `system:serviceaccount:${namespace}:${name}`,
        'kubernetes.io/serviceaccount/namespace': namespace,
        'kubernetes.io/serviceaccount/service-account.name': name,
        'kubernetes.io/serviceaccount/service-account.uid': uid,
      }),
      Buffer.from(crypto.randomUUID()).toString('base64url'),
    ].join('.');
    this.issued.set(jwt, { namespace, name, uid });
    return jwt;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Points Kubernetes auth at `mount` to the fake API. Vault wants a CA certificate for the API
 * even over plain HTTP, and `disable_local_ca_jwt` keeps it from reading the pod's own files.
 */
export async function configureKubernetesAuth(
  root: VaultRoot,
  mount: string,
  tokenReview: FakeTokenReview,
  role: { name: string; namespace: string; serviceAccount: string; policies: string[]; ttl?: string },
): Promise<void> {
  await root.call('POST', `auth/${mount}/config`, {
    kubernetes_host: tokenReview.url,
    kubernetes_ca_cert: anyPemCertificate(),
    disable_local_ca_jwt: true,
  });
  await root.call('POST', `auth/${mount}/role/${role.name}`, {
    bound_service_account_names: [role.serviceAccount],
    bound_service_account_namespaces: [role.namespace],
    token_policies: role.policies,
    token_ttl: role.ttl ?? '1h',
    token_max_ttl: '24h',
  });
}

/** AppRole `name` at `mount` with `policies`; returns its role id and a fresh secret id. */
export async function createAppRole(
  root: VaultRoot,
  mount: string,
  name: string,
  policies: string[],
): Promise<{ roleId: string; secretId: string }> {
  await root.call('POST', `auth/${mount}/role/${name}`, { token_policies: policies, token_ttl: '1h' });
  const roleId = (await root.call('GET', `auth/${mount}/role/${name}/role-id`)).body.data.role_id;
  const secretId = (await root.call('POST', `auth/${mount}/role/${name}/secret-id`, {})).body.data.secret_id;
  return { roleId, secretId };
}

/** A throwaway self-signed certificate: Vault only parses it (the fake API is plain HTTP). */
function anyPemCertificate(): string {
  return execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
    ].concat(['-subj', '/CN=fake-kubernetes-ca', '-days', '1']),
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
}
