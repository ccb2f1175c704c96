#!/usr/bin/env node
// The `fence-buckets` bin: runs the TypeScript entry through tsx, so `npx fence-buckets` works
// from a clone after `npm ci` with no build step.
import { tsImport } from 'tsx/esm/api';

// The AWS SDK prints a 7-line NodeVersionSupportWarning on every run under Node < 22 (issue 22
// moves the toolchain); an operator's terminal is no place for it. This is the switch the SDK
// itself reads (@aws-sdk/core emitWarningIfUnsupportedVersion), set for this process only and
// before any SDK client exists; an operator who sets it either way keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

await tsImport('./fence-buckets.ts', import.meta.url);
