import * as z from 'zod/mini';
import { SIGV4_MAX_EXPIRES_IN } from '../registry/bucket-record';
import { integerError } from '../validation';

/**
 * The request bodies of the presign API (DESIGN.md, "Presign API"). One schema per route,
 * shared by the handler, the local runner and the OpenAPI document. Schemas of the rarer routes
 * are `z.lazy`: built on their first request, not at every cold start.
 */

/** Control characters have no place in an object key and break access-log parsing. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
/** A surrogate without its partner cannot be encoded as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const isWellFormed = (text: string) => !LONE_SURROGATE.test(text);

/** An S3 object key: 1–1024 bytes of UTF-8, no control characters. */
export const ObjectKeySchema = z.string().check(
  z.minLength(1),
  z.refine((key) => Buffer.byteLength(key, 'utf8') <= 1024, 'must be at most 1024 bytes of UTF-8'),
  z.refine((key) => !CONTROL_CHARACTERS.test(key), 'must not contain control characters'),
  z.refine(isWellFormed, 'must be well-formed Unicode'),
);

const ExpiresInSchema = z.int({ error: integerError }).check(z.minimum(1), z.maximum(SIGV4_MAX_EXPIRES_IN));
const shortText = (max: number) =>
  z.string().check(
    z.maxLength(max),
    z.refine((text) => !CONTROL_CHARACTERS.test(text) && isWellFormed(text), 'must be printable text'),
  );
const ContentTypeSchema = z
  .string()
  .check(
    z.minLength(3),
    z.maxLength(256),
    z.regex(
      /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[\x20\x21\x23-\x7e]*"|[\w.+-]+))*$/,
      'must be a media type such as text/plain',
    ),
  );
const UploadIdSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(1024), z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII'));
const PartNumberSchema = z.int({ error: integerError }).check(z.minimum(1), z.maximum(10_000));

export const PRESIGN_METHODS = ['GET', 'PUT', 'HEAD'] as const;
export type PresignMethod = (typeof PRESIGN_METHODS)[number];

/** Who the URL is for; signed into GET/PUT URLs so it reaches the bucket's access logs. */
export const AuditSchema = z.strictObject({
  user_id: z.optional(shortText(256)),
  username: z.optional(shortText(256)),
  client_id: z.optional(shortText(256)),
});

export const PresignRequestSchema = z.strictObject({
  key: ObjectKeySchema,
  method: z.enum(PRESIGN_METHODS),
  expires_in: z.optional(ExpiresInSchema),
  content_type: z.optional(ContentTypeSchema),
  requester_pays: z.optional(z.boolean()),
  audit: z.optional(AuditSchema),
  purpose: z.optional(shortText(64)),
});
export type PresignRequest = z.infer<typeof PresignRequestSchema>;

export const MAX_BATCH_ITEMS = 1000;
/**
 * A batch's frame. Only the frame fails the whole batch; each item is parsed on its own with
 * `PresignRequestSchema`, and an invalid item becomes an error entry in its place.
 */
export const PresignBatchRequestSchema = z.lazy(() =>
  z.strictObject({
    items: z.array(z.unknown()).check(z.minLength(1), z.maxLength(MAX_BATCH_ITEMS)),
  }),
);
export type PresignBatchRequest = z.infer<typeof PresignBatchRequestSchema>;

export const MultipartInitRequestSchema = z.lazy(() =>
  z.strictObject({
    key: ObjectKeySchema,
    content_type: z.optional(ContentTypeSchema),
  }),
);
export type MultipartInitRequest = z.infer<typeof MultipartInitRequestSchema>;

export const MultipartPartsRequestSchema = z.lazy(() =>
  z.strictObject({
    key: ObjectKeySchema,
    upload_id: UploadIdSchema,
    part_numbers: z.array(PartNumberSchema).check(
      z.minLength(1),
      z.maxLength(MAX_BATCH_ITEMS),
      z.refine((numbers) => new Set(numbers).size === numbers.length, 'must not repeat a part number'),
    ),
    expires_in: z.optional(ExpiresInSchema),
  }),
);
export type MultipartPartsRequest = z.infer<typeof MultipartPartsRequestSchema>;

export const MultipartCompleteRequestSchema = z.lazy(() =>
  z.strictObject({
    key: ObjectKeySchema,
    upload_id: UploadIdSchema,
    parts: z
      .array(
        z.strictObject({
          part_number: PartNumberSchema,
          etag: z
            .string()
            .check(z.minLength(1), z.maxLength(1024), z.regex(/^[\x20-\x7e]+$/, 'must be printable ASCII')),
        }),
      )
      .check(
        z.minLength(1),
        z.maxLength(10_000),
        z.refine(
          (parts) =>
            parts.every(
              (part, index) => index === 0 || (parts[index - 1]?.part_number ?? 0) < part.part_number,
            ),
          'must list part numbers in ascending order without repeats',
        ),
      ),
  }),
);
export type MultipartCompleteRequest = z.infer<typeof MultipartCompleteRequestSchema>;

export const MultipartAbortRequestSchema = z.strictObject({
  key: ObjectKeySchema,
  upload_id: UploadIdSchema,
});
export type MultipartAbortRequest = z.infer<typeof MultipartAbortRequestSchema>;

/** A presigned URL and what the client must send with it. */
export interface PresignedUrl {
  url: string;
  method: PresignMethod;
  headers: Record<string, string>;
  expires_at: string;
}
