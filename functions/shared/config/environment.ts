import * as z from 'zod/mini';
import { ConfigurationError } from '../errors';
import { describeIssue } from '../validation';

/**
 * Reads a function's environment with its zod schema. The same schema types the CDK construct's
 * `environment`, so a missing variable fails at compile time there and at cold start here.
 */
export function readEnvironment<S extends z.ZodMiniType>(
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')} ${describeIssue(issue)}`);
  throw new ConfigurationError(`invalid environment: ${problems.join('; ')}`);
}

/** A comma-separated environment list, e.g. `aws_sm,k8s`. */
export const commaList = <T extends z.ZodMiniType<unknown, string>>(item: T) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((text) =>
        text
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part.length > 0),
      ),
    ),
    z.array(item).check(z.minLength(1)),
  );

/** A positive whole number of seconds given as text. */
export const seconds = (fallback: number) => z._default(positiveInteger(), fallback);

/** A positive whole number given as text. */
export const positiveInteger = () => z.coerce.number().check(z.int(), z.positive());

/** `true` or `false` as text (anything else is refused at cold start). */
export const booleanFlag = (fallback: boolean) =>
  z._default(
    z.pipe(
      z.enum(['true', 'false']),
      z.transform((text) => text === 'true'),
    ),
    fallback,
  );
