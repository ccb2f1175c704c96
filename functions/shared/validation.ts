import type * as z from 'zod/mini';
import { InvalidRequestError } from './errors';

/**
 * Parses `input` with `schema`, turning the first schema violation into an `InvalidRequestError`
 * that names the field. Messages come from the schema's rules, never from the input's values.
 */
export function parseRequest<S extends z.ZodMiniType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : undefined;
  const problem = issue ? describeIssue(issue) : 'is invalid';
  throw new InvalidRequestError(field === undefined ? `request ${problem}` : `${field} ${problem}`, field);
}

/** A short description of a schema issue that never echoes the offending value. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be of type ${issue.expected}`;
    case 'unrecognized_keys':
      return `has unknown field(s): ${issue.keys.map((key) => JSON.stringify(key).slice(0, 66)).join(', ')}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      return `is too small (minimum ${String(issue.minimum)})`;
    case 'too_big':
      return `is too big (maximum ${String(issue.maximum)})`;
    case 'invalid_format':
      // Our patterns carry their own wording; built-in formats are named by zod.
      return issue.format === 'regex' ? issue.message : `must be a valid ${issue.format}`;
    default:
      // Custom and refinement messages are written by us and never include input.
      return issue.message;
  }
}
