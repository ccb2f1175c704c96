import type * as z from 'zod/mini';
import { InvalidRequestError } from './errors';

/** Unknown field names listed in a message; the rest are counted. */
const MAX_LISTED_FIELDS = 5;
/** Characters of one listed field name (JSON-quoted). */
const MAX_FIELD_NAME = 40;
/** No message grows past this, whatever the input (a body may carry 100,000 unknown fields). */
export const MAX_MESSAGE_LENGTH = 512;

/**
 * Parses `input` with `schema`, turning the first schema violation into an `InvalidRequestError`
 * that names the field. Messages come from the schema's rules and the input's JSON types, never
 * from the input's values. `subject` names the input itself when the issue is at its root (a
 * path parameter such as `bucket`, or the request body).
 */
export function parseRequest<S extends z.ZodMiniType>(
  schema: S,
  input: unknown,
  subject = 'request body',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw invalidRequest(result.error.issues[0], input, subject);
}

/** The `InvalidRequestError` for one schema issue (see `parseRequest`). */
export function invalidRequest(
  issue: z.core.$ZodIssue | undefined,
  input: unknown,
  subject = 'request body',
): InvalidRequestError {
  const field = issue?.path.length ? issue.path.map(String).join('.') : undefined;
  const problem = issue ? describeIssue(issue, input) : 'is invalid';
  const message = `${field ?? subject} ${problem}`;
  return new InvalidRequestError(
    message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message,
    field ?? (subject === 'request body' ? undefined : subject),
  );
}

/**
 * A `z.int()` error option: a value of another type is "not an integer" (zod reports a string
 * where an integer belongs as a wrong *number*, which would mislead).
 */
export const integerError = (issue: { code: string }) =>
  issue.code === 'invalid_type' ? 'must be an integer' : undefined;

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/**
 * A short description of a schema issue that never echoes the offending value. With `root` (the
 * whole input), a value of the wrong type is told apart from a missing one: zod/mini issues do
 * not carry their input, so the value is looked up along the issue's path.
 */
export function describeIssue(issue: z.core.$ZodIssue, root?: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const found = root === undefined ? undefined : valueAt(root, issue.path);
      if (found === undefined || !found.present) return 'is required';
      const wanted = issue.message.startsWith('must be ')
        ? issue.message
        : `must be ${EXPECTED[issue.expected] ?? issue.expected}`;
      return `${wanted}, not ${jsonType(found.value)}`;
    }
    case 'unrecognized_keys':
      return `has ${issue.keys.length === 1 ? 'an unknown field' : `${issue.keys.length} unknown fields`}: ${listFields(issue.keys)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      return `must ${sizeWords(issue.origin, 'least', issue.minimum)}`;
    case 'too_big':
      return `must ${sizeWords(issue.origin, 'most', issue.maximum)}`;
    case 'invalid_format':
      // Our patterns carry their own wording; built-in formats are named by zod.
      return issue.format === 'regex' ? issue.message : `must be a valid ${issue.format}`;
    default:
      // Custom and refinement messages are written by us and never include input.
      return issue.message;
  }
}

function listFields(keys: readonly string[]): string {
  const listed = keys.slice(0, MAX_LISTED_FIELDS).map((key) => {
    const quoted = JSON.stringify(key);
    return quoted.length > MAX_FIELD_NAME ? `${quoted.slice(0, MAX_FIELD_NAME - 2)}…"` : quoted;
  });
  const rest = keys.length - listed.length;
  return rest > 0 ? `${listed.join(', ')} and ${rest.toLocaleString('en-US')} more` : listed.join(', ');
}

function sizeWords(origin: string, bound: 'least' | 'most', limit: number | bigint): string {
  const value = Number(limit);
  switch (origin) {
    case 'string':
      return `be at ${bound} ${value} character${value === 1 ? '' : 's'} long`;
    case 'array':
    case 'set':
      return `have at ${bound} ${value} item${value === 1 ? '' : 's'}`;
    default:
      return `be at ${bound} ${value}`;
  }
}

/** The value at `path` in `root`, or `present: false` when some step of the path is missing. */
function valueAt(root: unknown, path: readonly PropertyKey[]): { present: boolean; value?: unknown } {
  let current = root;
  for (const step of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, step)) {
      return { present: false };
    }
    current = (current as Record<PropertyKey, unknown>)[step];
  }
  return { present: true, value: current };
}

/** The JSON type of a value, in words (`a string`, `null`, …). */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Set) return 'a set';
  if (value instanceof Uint8Array) return 'binary';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'an integer' : 'a fractional number';
    case 'bigint':
      return 'an integer beyond ±2^53';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/**
 * JSON Schema's `if`/`then`/`else`, for rules the OpenAPI document states beside a zod schema
 * that checks them in a refinement. Built from entries: an object literal with a `then` key is a
 * thenable, which `await` would call.
 */
export function jsonSchemaIf(
  condition: Record<string, unknown>,
  consequence: Record<string, unknown>,
  alternative?: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries([
    ['if', condition],
    ['then', consequence],
    ...(alternative === undefined ? [] : [['else', alternative]]),
  ]);
}
