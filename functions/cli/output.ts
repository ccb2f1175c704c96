import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import type { ValidationReport } from '../shared/admin/bucket-admin';
import type { BucketRecord } from '../shared/registry/bucket-record';

/** Exit codes scripts can trust. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Where a command writes: stdout for results, stderr for progress and errors. Injectable for tests. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (progress bars only then). */
  interactive: boolean;
  /** Reads all of stdin (keys given with `--secret-stdin`). */
  stdin: () => Promise<string>;
  /** Asks at the terminal; `hidden` for secrets. Undefined when there is no terminal. */
  prompt?: (question: string, hidden: boolean) => Promise<string>;
}

/**
 * Characters a terminal may act on rather than show: C0 controls but the newline (ESC starts
 * colour, cursor, title and OSC 8 link sequences; BEL rings; CR overwrites a line), DEL, C1
 * controls (U+009B is a one-character CSI on some terminals) and the bidirectional overrides and
 * isolates that reorder what is shown ("Trojan Source", CVE-2021-42574).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's whole purpose.
const TERMINAL_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with each terminal control written as a visible `\uXXXX` escape. Applied to every cell
 * and, in `runCli`, to everything written to stdout and stderr: messages and records carry text
 * from elsewhere (a store's error `<Code>`, a registry field, a Fence DB row, a secret's
 * description) that must reach the operator's terminal as text. In `--json` output the escape is
 * JSON's own, so the parsed value is unchanged (`JSON.stringify` already escapes C0, but not DEL,
 * C1 or the bidi controls). Idempotent: the escapes are plain ASCII.
 */
export function terminalSafe(text: string): string {
  return text.replace(
    TERMINAL_CONTROLS,
    (control) => `\\u${control.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** `io` with everything written through `terminalSafe` (the CLI's output boundary). */
export function terminalSafeIo(io: CliIo): CliIo {
  return {
    ...io,
    out: (text) => io.out(terminalSafe(text)),
    err: (text) => io.err(terminalSafe(text)),
  };
}

export interface OutputOptions {
  json: boolean;
}

const RECORD_COLUMNS = [
  'bucket_name',
  'provider',
  'auth_mode',
  'status',
  'revision',
  'allowed_ops',
  'secret_ref',
] as const;

/** Records as a table (default) or JSON (`--json`). */
export function printRecords(
  io: CliIo,
  options: OutputOptions,
  records: BucketRecord[],
  cursor?: string,
): void {
  if (options.json) {
    io.out(`${JSON.stringify(cursor === undefined ? { records } : { records, cursor }, null, 2)}\n`);
    return;
  }
  const table = new Table({ head: [...RECORD_COLUMNS], style: { head: [], border: [] } });
  for (const record of records) {
    table.push(RECORD_COLUMNS.map((column) => cell(record[column])));
  }
  io.out(`${table.toString()}\n${records.length} bucket(s)${cursor === undefined ? '' : ' (more: --all)'}\n`);
}

/** One record, field by field. */
export function printRecord(io: CliIo, options: OutputOptions, record: BucketRecord): void {
  if (options.json) {
    io.out(`${JSON.stringify(record, null, 2)}\n`);
    return;
  }
  const table = new Table({ style: { head: [], border: [] } });
  for (const [field, value] of Object.entries(record)) table.push({ [field]: cell(value) });
  io.out(`${table.toString()}\n`);
}

export function printReports(io: CliIo, options: OutputOptions, reports: ValidationReport[]): void {
  if (options.json) {
    io.out(`${JSON.stringify(reports.length === 1 ? reports[0] : { reports }, null, 2)}\n`);
    return;
  }
  const table = new Table({ head: ['bucket', 'check', 'ok', 'message'], style: { head: [], border: [] } });
  for (const report of reports) {
    for (const check of report.checks)
      table.push([report.bucket, check.name, check.ok ? 'yes' : 'NO', check.message].map(cell));
  }
  const failed = reports.filter((report) => !report.ok).length;
  io.out(`${table.toString()}\n${reports.length - failed} of ${reports.length} bucket(s) passed\n`);
}

export function printObject(io: CliIo, options: OutputOptions, value: Record<string, unknown>): void {
  if (options.json) {
    io.out(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const table = new Table({ style: { head: [], border: [] } });
  for (const [field, entry] of Object.entries(value)) table.push({ [field]: cell(entry) });
  io.out(`${table.toString()}\n`);
}

/** A table cell, made terminal-safe before the table measures it (so the borders line up). */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return terminalSafe(value.join(','));
  return terminalSafe(String(value));
}

/** A progress bar on stderr for operations over many buckets; silent when stderr is not a terminal. */
export function progress(io: CliIo, total: number, label: string): { tick: () => void; stop: () => void } {
  if (!io.interactive || total < 2) return { tick: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total}`,
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}
