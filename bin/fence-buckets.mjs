#!/usr/bin/env node
// The `fence-buckets` bin: runs the TypeScript entry through tsx, so `npx fence-buckets` works
// from a clone after `npm ci` with no build step. The packed CLI (clients/cli, `npm run pack:cli`)
// bundles the same entry instead.
import { tsImport } from 'tsx/esm/api';

await tsImport('./fence-buckets.ts', import.meta.url);
