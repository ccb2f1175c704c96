import { writeFileSync } from 'node:fs';
import { brokerOpenApiDocument } from '../functions/presign/openapi';

/** Writes docs/openapi.json from the request schemas (`npm run openapi`); a test keeps it current. */
writeFileSync('docs/openapi.json', `${JSON.stringify(brokerOpenApiDocument(), null, 2)}\n`);
console.log('wrote docs/openapi.json');
