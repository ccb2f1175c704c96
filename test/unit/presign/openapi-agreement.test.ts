import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { PresignEnvironmentSchema } from '../../../functions/presign/environment';
import { brokerOpenApiDocument } from '../../../functions/presign/openapi';
import { handlePresignApi } from '../../../functions/presign/presign-api';
import { wirePresignService } from '../../../functions/presign/presign-wiring';
import { FileSecretResolver } from '../../../functions/shared/backends/kubernetes/file-secret-resolver';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { FileBucketRegistry } from '../../../functions/shared/registry/file-bucket-registry';

type JsonSchema = Record<string, unknown> & { properties: Record<string, Record<string, unknown>> };

/** The request schema of `route` as the published document states it. */
function documentedBody(route: string): JsonSchema {
  const document = brokerOpenApiDocument() as {
    paths: Record<string, { post: { requestBody: { content: Record<string, { schema: JsonSchema }> } } }>;
  };
  const schema =
    document.paths[`/v1/buckets/{bucket}/${route}`]?.post.requestBody.content['application/json']?.schema;
  if (schema === undefined) throw new Error(`no schema for ${route}`);
  return schema;
}

/**
 * A JSON Schema 2020-12 validator for the document, with the document's one extension keyword
 * (`x-max-utf8-bytes`) implemented as the description states it. `unicode` picks whether
 * patterns run with the `u` flag: validators differ, and the patterns must mean the same in both.
 */
function documentValidator(unicode: boolean) {
  const ajv = new Ajv2020({ strict: true, unicodeRegExp: unicode, allErrors: false });
  ajv.addKeyword({
    keyword: 'x-max-utf8-bytes',
    type: 'string',
    schemaType: 'number',
    validate: (max: number, text: string) => Buffer.byteLength(text, 'utf8') <= max,
  });
  ajv.addKeyword({ keyword: 'x-unique-by', schemaType: 'string' });
  return (schema: Record<string, unknown>) => ajv.compile(schema);
}

describe('Document: docs/openapi.json agrees with the handler', () => {
  let call: (route: string, body: unknown) => Promise<number>;

  beforeAll(async () => {
    // Prepare: the real handler over a file registry and file secrets (no network).
    const dir = mkdtempSync(join(tmpdir(), 'fbb-agreement-'));
    const registry = new FileBucketRegistry(join(dir, 'registry.json'));
    await new FileSecretResolver(join(dir, 'secrets')).put('gen3/fence/minio/agreement', {
      access_key_id: 'AKIDAGREEMENT0001',
      secret_access_key: 'agreement/secret/key/0123456789abcdef',
    });
    await registry.create({
      bucket_name: 'agreement-bucket',
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'k8s',
      secret_ref: 'gen3/fence/minio/agreement',
      endpoint: 'http://127.0.0.1:9',
      allowed_ops: ['download', 'upload', 'multipart'],
    });
    const environment = readEnvironment(PresignEnvironmentSchema, {
      REGISTRY_TABLE_NAME: 'local-file',
      FENCE_SECRETS_BACKEND: 'k8s',
      FENCE_SECRETS_DIR: join(dir, 'secrets'),
    });
    const { service } = wirePresignService(environment, { registry });
    call = async (route, body) =>
      (
        await handlePresignApi(
          {
            httpMethod: 'POST',
            path: `/v1/buckets/agreement-bucket/${route}`,
            body: JSON.stringify(body),
            isBase64Encoded: false,
            requestContext: {},
          } as unknown as APIGatewayProxyEvent,
          { requestId: 'req-agreement' },
          { service, record: () => undefined },
        )
      ).statusCode;
  });

  /** Characters that sit on the edges of the rules: controls, C1, spaces, surrogates, dots. */
  const edgy = fc.constantFrom(
    '\u0000',
    '\t',
    '\n',
    '\u000b',
    '\u000c',
    '\r',
    '\u001f',
    ' ',
    '"',
    '\\',
    ';',
    '=',
    '/',
    '.',
    '..',
    '\u007f',
    '\u0080',
    '\u0085',
    '\u009b',
    '\u009f',
    '\u00a0',
    'é',
    '\u2028',
    '\u3000',
    '\ufeff',
    '\ud800',
    '\udc00',
    '😀',
    '\ud83d',
  );
  /**
   * The document's pattern for a field that fast-check can generate from (not one with a
   * lookahead), or none.
   */
  const generatablePattern = (route: string, field: string): string | undefined => {
    const schema = documentedBody(route).properties[field] as {
      pattern?: string;
      allOf?: { pattern?: string }[];
    };
    const patterns = [schema?.pattern, ...(schema?.allOf ?? []).map((part) => part.pattern)];
    return patterns.find((pattern) => pattern !== undefined && !pattern.includes('(?!'));
  };
  /** A string from the document's pattern, then spliced with edge characters at random places. */
  const nearPattern = (pattern: string | undefined) =>
    fc
      .tuple(
        pattern === undefined ? fc.string({ unit: 'grapheme' }) : fc.stringMatching(new RegExp(pattern)),
        fc.array(fc.tuple(fc.nat(), edgy), { maxLength: 3 }),
        fc.boolean(),
      )
      .map(([text, splices, keep]) => {
        if (keep) return text;
        let spliced = text;
        for (const [at, piece] of splices) {
          const where = at % (spliced.length + 1);
          spliced = spliced.slice(0, where) + piece + spliced.slice(where);
        }
        return spliced;
      });
  const anything = fc.string({ unit: 'binary', maxLength: 40 });
  /** Keys: printable segments, dot segments and edge characters joined by slashes, some long. */
  const keys = fc.oneof(
    nearPattern(generatablePattern('presign', 'key')),
    fc
      .array(
        fc.oneof(
          fc.constantFrom('.', '..', '', '...', '.a', 'a.'),
          nearPattern(generatablePattern('presign', 'key')),
        ),
        {
          maxLength: 5,
        },
      )
      .map((segments) => segments.join('/')),
    fc
      .tuple(fc.integer({ min: 1015, max: 1030 }), fc.constantFrom('a', 'é', '😀'))
      .map(([length, unit]) => unit.repeat(Math.ceil(length / Buffer.byteLength(unit)))),
    anything,
  );
  const mediaTypes = fc.oneof(nearPattern(generatablePattern('presign', 'content_type')), anything);
  const uploadIds = fc.oneof(nearPattern(generatablePattern('multipart/parts', 'upload_id')), anything);

  const fields = [
    ['key', 'presign', keys, (key: string) => ({ key, method: 'GET' })],
    [
      'content_type',
      'presign',
      mediaTypes,
      (type: string) => ({ key: 'k', method: 'PUT', content_type: type }),
    ],
    [
      'upload_id',
      'multipart/parts',
      uploadIds,
      (id: string) => ({ key: 'k', upload_id: id, part_numbers: [1] }),
    ],
  ] as const;

  for (const unicode of [true, false]) {
    it.each(fields)(
      `accepts a %s exactly when the document does (patterns ${unicode ? 'with' : 'without'} the u flag)`,
      async (field, route, values, body) => {
        // Prepare
        const validate = documentValidator(unicode)(documentedBody(route).properties[field] ?? {});

        // Act + Assess: accepted by one ⇔ accepted by the other.
        await fc.assert(
          fc.asyncProperty(values, async (value) => {
            const status = await call(route, body(value));
            expect([200, 400]).toContain(status);
            expect({ value, handler: status === 200 }).toEqual({ value, handler: validate(value) });
          }),
          { numRuns: 1500 },
        );
      },
      60_000,
    );
  }

  it('validates whole bodies the handler accepts, and states uniqueItems for part numbers', () => {
    // Prepare
    const validate = documentValidator(true);
    const parts = documentedBody('multipart/parts');

    // Act
    const repeated = validate(parts)({ key: 'k', upload_id: 'u', part_numbers: [1, 1] });
    const distinct = validate(parts)({ key: 'k', upload_id: 'u', part_numbers: [1, 2] });

    // Assess
    expect(parts.properties.part_numbers).toMatchObject({ uniqueItems: true });
    expect(repeated).toBe(false);
    expect(distinct).toBe(true);
    expect(documentedBody('multipart/complete').properties.parts).toMatchObject({
      'x-unique-by': 'part_number',
    });
  });
});
