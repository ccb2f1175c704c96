import type { S3Client } from '@aws-sdk/client-s3';
import type { DriftReport } from './drift-results';

/** Where reports go inside the report bucket; the drift role may write under it and nowhere else. */
export const DRIFT_REPORT_PREFIX = 'reports/';
/** The last run's report, beside the dated ones. */
export const LATEST_REPORT_KEY = `${DRIFT_REPORT_PREFIX}latest.json`;

/** Where a run's report is kept for operators (`fence-buckets drift-check --last`). */
export interface DriftReportStore {
  /** Stores the report as `reports/<started_at>.json` and as `reports/latest.json`; returns both keys. */
  save(report: DriftReport): Promise<string[]>;
  /** The last stored report, or undefined when none was stored yet. */
  latest(): Promise<DriftReport | undefined>;
}

/**
 * Reports as JSON objects in an S3 bucket (encrypted, private, with a lifecycle rule: the
 * construct's). The SDK client is loaded on first use. With an endpoint override (moto,
 * LocalStack, MinIO) addressing is path-style, as emulators need.
 */
export class S3DriftReportStore implements DriftReportStore {
  private client: Promise<S3Client> | undefined;

  constructor(
    readonly bucket: string,
    private readonly options: { client?: S3Client; env?: NodeJS.ProcessEnv } = {},
  ) {}

  private async sdk() {
    const sdk = await import('@aws-sdk/client-s3');
    const env = this.options.env ?? process.env;
    this.client ??= Promise.resolve(
      this.options.client ??
        new sdk.S3Client({
          forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL),
        }),
    );
    return { sdk, client: await this.client };
  }

  async save(report: DriftReport): Promise<string[]> {
    const { sdk, client } = await this.sdk();
    const body = `${JSON.stringify(report, null, 2)}\n`;
    const keys = [`${DRIFT_REPORT_PREFIX}${report.started_at}.json`, LATEST_REPORT_KEY];
    for (const key of keys) {
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
        }),
      );
    }
    return keys;
  }

  async latest(): Promise<DriftReport | undefined> {
    const { sdk, client } = await this.sdk();
    try {
      const answer = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.bucket, Key: LATEST_REPORT_KEY }),
      );
      return JSON.parse((await answer.Body?.transformToString('utf8')) ?? 'null') ?? undefined;
    } catch (error) {
      if (error instanceof sdk.NoSuchKey) return undefined;
      throw error;
    }
  }
}
