import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { presignOpenApiDocument } from '../../../functions/presign/openapi';

describe('Function: presignOpenApiDocument', () => {
  it('is what docs/openapi.json holds (run `npm run openapi` after changing a schema)', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '../../../docs/openapi.json'), 'utf8'));
    expect(committed).toEqual(presignOpenApiDocument());
  });

  it('describes every route with its request schema, from the same zod schemas', () => {
    const document = presignOpenApiDocument() as {
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
    expect(Object.keys(document.paths)).toHaveLength(6);
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
