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
      table.push([report.bucket, check.name, check.ok ? 'yes' : 'NO', check.message]);
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

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
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
