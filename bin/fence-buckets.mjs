#!/usr/bin/env node
// The `fence-buckets` bin: runs the TypeScript entry through tsx, so `npx fence-buckets` works
// from a clone after `npm ci` with no build step. The packed CLI (clients/cli, `npm run pack:cli`)
// bundles the same entry instead.
//
// The AWS SDK's NodeVersionSupportWarning is not switched off: the SDK prints it only below
// Node 22 (@aws-sdk/core emitWarningIfUnsupportedVersion), the CLI supports Node 22 and later
// (package.json `engines`), and on an older Node the warning is true.
import { tsImport } from 'tsx/esm/api';

await tsImport('./fence-buckets.ts', import.meta.url);
