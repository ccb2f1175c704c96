import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_ROUTES } from '../../../functions/admin/admin-api';
import { brokerOpenApiDocument } from '../../../functions/presign/openapi';

describe('Function: brokerOpenApiDocument', () => {
  it('describes every admin route of the route table, with the record and patch schemas', () => {
    const document = brokerOpenApiDocument() as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    const described = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/v1/admin/'))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(described.sort()).toEqual(
      ADMIN_ROUTES.map((route) => `${route.method} /v1/admin/${route.path}`).sort(),
    );
    const register = document.paths['/v1/admin/buckets']?.post?.requestBody as {
      content: {
        'application/json': { schema: { properties: Record<string, unknown>; required: string[] } };
      };
    };
    expect(Object.keys(register.content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining([
        'bucket_name',
        'provider',
        'auth_mode',
        'secret_ref',
        'create_secret',
        'secret',
      ]),
    );
    expect(register.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['bucket_name', 'provider', 'auth_mode', 'allowed_ops']),
    );
  });

  it('is what docs/openapi.json holds (run `npm run openapi` after changing a schema)', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '../../../docs/openapi.json'), 'utf8'));
    expect(committed).toEqual(brokerOpenApiDocument());
  });

  it('describes every route with its request schema, from the same zod schemas', () => {
    const document = brokerOpenApiDocument() as {
      paths: Record<
        string,
        {
          post: {
            requestBody: {
              content: Record<
                string,
                { schema: { properties?: Record<string, unknown>; required?: string[] } }
              >;
            };
          };
        }
      >;
    };
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/v1/buckets/'))).toHaveLength(6);
    const presign =
      document.paths['/v1/buckets/{bucket}/presign']?.post.requestBody.content['application/json']?.schema;
    expect(presign?.required).toEqual(['key', 'method']);
    expect(Object.keys(presign?.properties ?? {})).toEqual(
      expect.arrayContaining([
        'key',
        'method',
        'expires_in',
        'content_type',
        'requester_pays',
        'audit',
        'purpose',
      ]),
    );
  });
});

describe('Function: brokerOpenApiDocument({ authentication: "none" })', () => {
  it('is the document the local runner serves: no SigV4 requirement, which the runner does not check', () => {
    // Act
    const served = JSON.stringify(brokerOpenApiDocument({ authentication: 'none' }));
    const deployed = JSON.stringify(brokerOpenApiDocument());

    // Assess
    expect(served).not.toContain('"security"');
    expect(served).not.toContain('sigv4');
    expect(deployed).toContain('"security":[{"sigv4":[]}]');
  });
});
