import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import {
  encodeS3Path,
  type PresignTarget,
  type SigningCredentials,
  SigV4Presigner,
  uriEscape,
} from '../../../functions/shared/signing/sigv4-presigner';
import { AWS_PRESIGNED_GET_EXAMPLE } from '../../fixtures/sigv4-vectors';

/** The URL `SignatureV4.presign` produces for the same inputs, its query in canonical order. */
async function referenceUrl(credentials: SigningCredentials, target: PresignTarget): Promise<string> {
  const [hostname, port] = target.host.split(':');
  const signer = new SignatureV4({
    service: 's3',
    region: target.region,
    credentials,
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const request = new HttpRequest({
    method: target.method,
    protocol: target.protocol,
    hostname,
    port: port === undefined ? undefined : Number(port),
    path: target.path,
    query: { ...target.query },
    headers: { host: target.host, ...target.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  const signed = await signer.presign(request, {
    signingDate: target.now,
    expiresIn: target.expiresIn,
    unsignableHeaders: new Set(['x-amz-content-sha256']),
    unhoistableHeaders: new Set(['x-amz-content-sha256']),
  });
  const query = Object.entries(signed.query ?? {})
    .map(([key, value]) => [uriEscape(key), uriEscape(String(value))] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signature = query.find(([key]) => key === 'X-Amz-Signature');
  const rest = query.filter(([key]) => key !== 'X-Amz-Signature');
  return `${target.protocol}//${target.host}${target.path}?${rest.map(([k, v]) => `${k}=${v}`).join('&')}&X-Amz-Signature=${signature?.[1]}`;
}

const credentialsArb = fc.record(
  {
    accessKeyId: fc.stringMatching(/^[A-Z0-9]{3,20}$/),
    secretAccessKey: fc.string({ minLength: 8, maxLength: 40 }),
    sessionToken: fc.string({ minLength: 1, maxLength: 60 }),
  },
  { requiredKeys: ['accessKeyId', 'secretAccessKey'] },
);

const targetArb = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'HEAD'),
  protocol: fc.constantFrom('https:' as const, 'http:' as const),
  host: fc.constantFrom('bucket.s3.us-east-1.amazonaws.com', '127.0.0.1:9000', 's3.example.org:8443'),
  key: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  region: fc.constantFrom('us-east-1', 'eu-west-2', 'ap-southeast-2'),
  audit: fc.dictionary(
    fc.constantFrom('user_id', 'username', 'client_id'),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  ),
  contentType: fc.option(fc.constantFrom('text/plain', 'application/json; charset=utf-8', 'image/png'), {
    nil: undefined,
  }),
  requesterPays: fc.boolean(),
  expiresIn: fc.integer({ min: 1, max: 604_800 }),
  now: fc.date({
    min: new Date('2020-01-01T00:00:00Z'),
    max: new Date('2035-01-01T00:00:00Z'),
    noInvalidDate: true,
  }),
});

describe('Class: SigV4Presigner', () => {
  it('produces URLs byte-identical to SignatureV4.presign for the same inputs (property)', async () => {
    const presigner = new SigV4Presigner();
    await fc.assert(
      fc.asyncProperty(credentialsArb, targetArb, async (credentials, input) => {
        const target: PresignTarget = {
          method: input.method,
          protocol: input.protocol,
          host: input.host,
          path: `/${encodeS3Path(input.key)}`,
          region: input.region,
          query: { ...input.audit, ...(input.requesterPays ? { 'x-amz-request-payer': 'requester' } : {}) },
          headers: input.contentType === undefined ? undefined : { 'content-type': input.contentType },
          expiresIn: input.expiresIn,
          now: new Date(Math.floor(input.now.getTime() / 1000) * 1000),
        };
        expect(presigner.presign(credentials, target)).toBe(await referenceUrl(credentials, target));
      }),
      { numRuns: 500 },
    );
  });

  it('reuses the cached signing key and still signs each URL differently', () => {
    const presigner = new SigV4Presigner();
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    };
    const base = {
      method: 'GET',
      protocol: 'https:' as const,
      host: 'examplebucket.s3.amazonaws.com',
      region: 'us-east-1',
      expiresIn: 86_400,
      now: new Date('2013-05-24T00:00:00Z'),
    };
    const first = presigner.presign(credentials, { ...base, path: '/test.txt' });
    const again = presigner.presign(credentials, { ...base, path: '/test.txt' });
    const other = presigner.presign(credentials, { ...base, path: '/other.txt' });
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it("matches AWS's published example of a presigned GET", () => {
    const example = AWS_PRESIGNED_GET_EXAMPLE;
    const url = new SigV4Presigner().presign(example.credentials, {
      method: 'GET',
      protocol: 'https:',
      host: example.host,
      path: example.path,
      region: example.region,
      expiresIn: example.expiresIn,
      now: example.now,
    });
    expect(url).toContain(`X-Amz-Signature=${example.signature}`);
  });

  it('encodes keys the way S3 expects: unreserved characters and slashes kept, the rest %-encoded', () => {
    expect(encodeS3Path("a b/c+d/é/~._-/!'()*")).toBe('a%20b/c%2Bd/%C3%A9/~._-/%21%27%28%29%2A');
  });
});

describe('Method: SigV4Presigner.signHeaders', () => {
  it('produces the headers SignatureV4.sign produces for the same request (property)', async () => {
    const presigner = new SigV4Presigner();
    await fc.assert(
      fc.asyncProperty(
        credentialsArb,
        fc.record({
          service: fc.constantFrom('s3', 'dynamodb', 'secretsmanager', 'sts'),
          method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
          host: fc.constantFrom(
            'dynamodb.us-east-1.amazonaws.com',
            '127.0.0.1:5000',
            'bucket.s3.eu-west-2.amazonaws.com',
          ),
          key: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
          query: fc.dictionary(
            fc.constantFrom('uploads', 'uploadId', 'partNumber', 'x'),
            fc.string({ maxLength: 12 }),
          ),
          target: fc.constantFrom('DynamoDB_20120810.GetItem', 'secretsmanager.GetSecretValue'),
          body: fc.string({ maxLength: 200 }),
          region: fc.constantFrom('us-east-1', 'eu-west-2'),
          now: fc.date({
            min: new Date('2020-01-01T00:00:00Z'),
            max: new Date('2035-01-01T00:00:00Z'),
            noInvalidDate: true,
          }),
        }),
        async (credentials, input) => {
          const now = new Date(Math.floor(input.now.getTime() / 1000) * 1000);
          const path = input.service === 's3' ? `/${encodeS3Path(input.key)}` : '/';
          const headers = {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': input.target,
            'content-length': String(Buffer.byteLength(input.body)),
          };
          const ours = presigner.signHeaders(credentials, {
            method: input.method,
            host: input.host,
            path,
            query: input.query,
            headers,
            body: input.body,
            region: input.region,
            service: input.service,
            now,
          });
          const [hostname, port] = input.host.split(':');
          const reference = await new SignatureV4({
            service: input.service,
            region: input.region,
            credentials,
            sha256: Sha256,
            uriEscapePath: input.service !== 's3',
            applyChecksum: input.service === 's3',
          }).sign(
            new HttpRequest({
              method: input.method,
              protocol: 'https:',
              hostname,
              port: port ? Number(port) : undefined,
              path,
              query: { ...input.query },
              headers: { host: input.host, ...headers },
              body: input.body,
            }),
            { signingDate: now },
          );
          expect(ours).toEqual(reference.headers);
        },
      ),
      { numRuns: 300 },
    );
  });
});
