import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, type Node, parseDocument, Scalar, stringify } from 'yaml';
import { InvalidRequestError } from '../errors';
import {
  ACCESS_KEY_FIELD,
  FENCE_YAML_OPTIONS,
  type FenceConfig,
  type FenceCredential,
  SECRET_KEY_FIELD,
  SECRET_REF_FIELD,
} from './fence-config';

/** A credential whose keys now live in a secret. */
export interface CredentialMove {
  credential: FenceCredential;
  /** What the file will refer to (the ARN on AWS Secrets Manager). */
  secretRef: string;
  /** The secret's name, for the comment left in the file. */
  secretName: string;
}

/** One changed place of the file, shown without any value. */
export interface RewriteHunk {
  credential: string;
  /** First changed line of the original file (1-based). */
  line: number;
  removed: string[];
  added: string[];
}

export interface ConfigRewrite {
  /** The new file; it holds no key of a moved credential. */
  text: string;
  hunks: RewriteHunk[];
  /** Credentials whose entry this release cannot edit safely, with the reason. */
  refused: { credential: string; reason: string }[];
}

interface Edit {
  start: number;
  end: number;
  replacement: string;
  /** Comment lines this edit adds (all others must survive). */
  comments: string[];
  hunk: RewriteHunk;
}

/**
 * Replaces the two key fields of each moved credential with `secret_ref: <ref>` and a comment
 * saying where the keys went and when. The edits are splices of the original text at the source
 * ranges the Document API reports, so every other byte (comments, order, quoting, blank lines,
 * line ends) stays as it was: re-serializing a `yaml` Document would restyle the whole file. The
 * result is parsed again and must equal the original document with exactly those changes.
 */
export function rewriteCredentials(
  config: FenceConfig,
  moves: CredentialMove[],
  options: { movedAt: Date; backendLabel: string },
): ConfigRewrite {
  const { source } = config;
  const newline = source.includes('\r\n') ? '\r\n' : '\n';
  const edits: Edit[] = [];
  const refused: ConfigRewrite['refused'] = [];
  const applied: CredentialMove[] = [];
  for (const move of moves) {
    const comment = `# keys moved to ${options.backendLabel} as ${move.secretName} by fence-buckets migrate on ${options.movedAt.toISOString().slice(0, 10)}`;
    const planned = editsFor(source, move, comment, newline);
    if (typeof planned === 'string') refused.push({ credential: move.credential.name, reason: planned });
    else {
      edits.push(...planned);
      applied.push(move);
    }
  }
  edits.sort((a, b) => a.start - b.start);

  let text = '';
  let at = 0;
  const hunks: RewriteHunk[] = [];
  for (const edit of edits) {
    text += source.slice(at, edit.start) + edit.replacement;
    const previous = hunks.at(-1);
    // Neighbouring edits of one credential read as one change.
    if (previous !== undefined && previous.credential === edit.hunk.credential && at === edit.start) {
      previous.removed.push(...edit.hunk.removed);
      previous.added.push(...edit.hunk.added);
    } else hunks.push(edit.hunk);
    at = edit.end;
  }
  text += source.slice(at);
  verify(
    config,
    text,
    applied,
    edits.flatMap((edit) => edit.comments),
  );
  return { text, hunks, refused };
}

/** The edits that move one credential, or why its entry cannot be edited safely. */
function editsFor(source: string, move: CredentialMove, comment: string, newline: string): Edit[] | string {
  const { credential } = move;
  const entry = credential.pair.value;
  const key = credential.pair.key as Node;
  if (!isMap(entry) || entry.range == null || key.range == null) {
    return `AWS_CREDENTIALS.${credential.name} is not a mapping`;
  }
  const keyPairs = entry.items.filter((pair) => {
    const name = isScalar(pair.key) ? pair.key.value : undefined;
    return name === ACCESS_KEY_FIELD || name === SECRET_KEY_FIELD;
  });
  if (keyPairs.some((pair) => anchored(pair.key) || anchored(pair.value))) {
    return `AWS_CREDENTIALS.${credential.name} anchors a key that other settings may alias: move it by hand`;
  }
  const reference = (template: unknown) => scalarSource(move.secretRef, template);

  if (entry.flow) {
    // `CRED: {aws_access_key_id: …, aws_secret_access_key: …}` becomes `CRED: { secret_ref: … }`
    // under the comment.
    if (keyPairs.length !== entry.items.length) {
      return `AWS_CREDENTIALS.${credential.name} is a flow mapping with other settings: write it as a block mapping first`;
    }
    const keyLine = lineStart(source, key.range[0]);
    const indent = source.slice(keyLine, key.range[0]);
    if (indent.trim() !== '') return `AWS_CREDENTIALS.${credential.name} does not start its own line`;
    const head = source.slice(keyLine, entry.range[0]);
    const pad = source[entry.range[0] + 1] === ' ' ? ' ' : '';
    const mapping = `{${pad}${SECRET_REF_FIELD}: ${reference(keyPairs[0]?.value)}${pad}}`;
    return [
      {
        start: keyLine,
        end: entry.range[1],
        replacement: `${indent}${comment}${newline}${head}${mapping}`,
        comments: [comment],
        hunk: {
          credential: credential.name,
          line: lineNumber(source, keyLine),
          removed: [`${head}{${pad}<redacted>${pad}}`],
          added: [`${indent}${comment}`, `${head}${mapping}`],
        },
      },
    ];
  }

  // A block mapping: each key's lines go; the first is replaced by the comment and secret_ref.
  const spans: { field: string; start: number; end: number; indent: string; trailing: string | undefined }[] =
    [];
  for (const pair of keyPairs) {
    const pairKey = pair.key as Node;
    const value = pair.value as Node | null;
    if (pairKey.range == null) return `AWS_CREDENTIALS.${credential.name} could not be located in the file`;
    const start = lineStart(source, pairKey.range[0]);
    const indent = source.slice(start, pairKey.range[0]);
    const valueEnd = Math.max(pairKey.range[1], value?.range?.[1] ?? 0);
    const end = endOfLine(source, Math.max(valueEnd - 1, pairKey.range[0]));
    const rest = /^[ \t]*(#[^\r\n]*)?(\r?\n)?$/.exec(source.slice(valueEnd, end));
    if (indent.trim() !== '' || rest === null) {
      return `AWS_CREDENTIALS.${credential.name} shares a line with other settings: put each key on its own line`;
    }
    spans.push({ field: String((pair.key as Scalar).value), start, end, indent, trailing: rest[1] });
  }
  spans.sort((a, b) => a.start - b.start);
  const first = spans[0];
  if (first === undefined) return `AWS_CREDENTIALS.${credential.name} has no keys to move`;
  // Comments that trailed a removed key line are kept, each on a line of its own.
  const carried = spans.flatMap((span) => (span.trailing === undefined ? [] : [span.trailing]));
  return spans.map((span, index) => {
    const added =
      index === 0
        ? [
            ...[comment, ...carried].map((line) => `${span.indent}${line}`),
            `${span.indent}${SECRET_REF_FIELD}: ${reference(keyPairs.find((pair) => (pair.key as Scalar).value === span.field)?.value)}`,
          ]
        : [];
    const endsLine = source.slice(span.start, span.end).endsWith('\n');
    return {
      start: span.start,
      end: span.end,
      replacement: added
        .map((line, at) => line + (at < added.length - 1 || endsLine ? newline : ''))
        .join(''),
      comments: index === 0 ? [comment] : [],
      hunk: {
        credential: credential.name,
        line: lineNumber(source, span.start),
        removed: [`${span.indent}${span.field}: <redacted>`],
        added,
      },
    };
  });
}

function anchored(node: unknown): boolean {
  return typeof (node as { anchor?: unknown } | null)?.anchor === 'string';
}

/** The redacted diff of a rewrite, unified-diff style; no key value ever appears in it. */
export function redactedDiff(fileName: string, hunks: RewriteHunk[]): string {
  if (hunks.length === 0) return '';
  const lines = [`--- ${fileName}`, `+++ ${fileName} (rewritten)`];
  for (const hunk of hunks) {
    if (hunk.removed.length === 0 && hunk.added.length === 0) continue;
    lines.push(`@@ line ${hunk.line}: AWS_CREDENTIALS.${hunk.credential} @@`);
    lines.push(...hunk.removed.map((line) => `-${line}`), ...hunk.added.map((line) => `+${line}`));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The new text must parse, and equal the old document except that each moved credential now
 * holds `secret_ref` instead of its keys. Anything else means an edit went wrong: nothing is
 * written then.
 */
function verify(config: FenceConfig, text: string, moves: CredentialMove[], added: string[]): void {
  const expected = config.document.toJS() as Record<string, unknown>;
  const credentials = expected.AWS_CREDENTIALS as Record<string, Record<string, unknown>> | undefined;
  for (const move of moves) {
    const entry = credentials?.[move.credential.name];
    if (entry === undefined) continue;
    delete entry[ACCESS_KEY_FIELD];
    delete entry[SECRET_KEY_FIELD];
    entry[SECRET_REF_FIELD] = move.secretRef;
  }
  const rewritten = parseDocument(text, FENCE_YAML_OPTIONS);
  if (
    rewritten.errors.length > 0 ||
    !isDeepStrictEqual(rewritten.toJS(), expected) ||
    !sameComments(config.source, text, added)
  ) {
    throw new InvalidRequestError(
      'the rewritten fence-config.yaml did not verify (a layout this release cannot edit); the file was left unchanged: move the keys by hand',
      'config',
    );
  }
}

/**
 * Every comment of the original is still there (comments that trailed a removed key line move to
 * a line of their own), besides the ones the rewrite added.
 */
function sameComments(before: string, after: string, added: string[]): boolean {
  const comments = (text: string) =>
    text
      .split(/\r?\n/)
      .map((line) => /(?:^|\s)(#.*)$/.exec(line)?.[1]?.trimEnd())
      .filter((comment): comment is string => comment !== undefined);
  const remaining = comments(after);
  for (const comment of added) {
    const at = remaining.indexOf(comment);
    if (at >= 0) remaining.splice(at, 1);
  }
  return isDeepStrictEqual(comments(before).sort(), remaining.sort());
}

/** `ref` written as a YAML scalar in the style of the value it replaces (quotes kept as they were). */
function scalarSource(ref: string, template: unknown): string {
  const type = isScalar(template) ? template.type : undefined;
  const scalar = new Scalar(ref);
  scalar.type =
    type === Scalar.QUOTE_DOUBLE || type === Scalar.QUOTE_SINGLE || type === Scalar.PLAIN
      ? type
      : Scalar.QUOTE_SINGLE;
  return stringify(scalar, { lineWidth: 0 }).trimEnd();
}

function lineStart(source: string, position: number): number {
  return source.lastIndexOf('\n', position - 1) + 1;
}

/** The position just past the newline that ends the line holding `position` (or the end of the text). */
function endOfLine(source: string, position: number): number {
  const newline = source.indexOf('\n', position);
  return newline < 0 ? source.length : newline + 1;
}

function lineNumber(source: string, position: number): number {
  let line = 1;
  for (let at = source.indexOf('\n'); at >= 0 && at < position; at = source.indexOf('\n', at + 1)) line += 1;
  return line;
}
