import * as z from 'zod/mini';
import { SIGV4_MAX_EXPIRES_IN } from '../registry/bucket-record';
import { integerError } from '../validation';

/**
 * The request bodies of the presign API (DESIGN.md, "Presign API"). One schema per route,
 * shared by the handler, the local runner and the OpenAPI document. Schemas of the rarer routes
 * are `z.lazy`: built on their first request, not at every cold start.
 */

/**
 * The patterns of the request fields, as ECMA-262 sources. The handler's schemas compile these
 * very strings and the OpenAPI document carries them as `pattern`, so the document says exactly
 * what the handler accepts. Each means the same with and without the `u` flag, because JSON
 * Schema validators differ on it.
 */

/**
 * Text without control characters: C0 (U+0000–U+001F), DEL and C1 (U+0080–U+009F). Controls
 * break access-log parsing and terminals; C1 controls are refused like C0 because terminals act
 * on them too (U+009B is CSI). A pattern of its own, apart from the surrogate rule below, because
 * validators whose strings are UTF-8 (jsonschema-rs, which schemathesis checks with; Go) cannot
 * compile a surrogate range and drop the whole pattern: this one they keep.
 */
export const NO_CONTROL_CHARACTERS_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F]*$';

/**
 * Text without unpaired surrogates, which UTF-8 cannot encode (a JSON body may still write one
 * as an escape, `"\ud800"`). In ECMA-262 with or without the `u` flag alike.
 */
export const NO_UNPAIRED_SURROGATE_PATTERN = '^(?:[^\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$';

/**
 * No "." or ".." path segment. HTTP clients resolve dot segments before sending (RFC 3986
 * 5.2.4: `/bucket/a/../b` is sent as `/bucket/b`), so such a URL would address another object,
 * and the broker's own multipart calls would leave the bucket.
 */
export const NO_DOT_SEGMENT_PATTERN = '^(?!(?:[\\s\\S]*/)?\\.\\.?(?:/|$))';

/** RFC 9110 `token`. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** RFC 9110 `quoted-string`, ASCII only (no obs-text). */
const QUOTED_STRING = '"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"';
/**
 * An RFC 9110 media type, ASCII only: `type "/" subtype *(OWS ";" OWS name "=" value)`, where
 * OWS is spaces and tabs only. Anything else (CR, LF, VT, FF, Unicode spaces) would be signed
 * into a URL and sent back in `headers` as a header value.
 */
export const MEDIA_TYPE_PATTERN = `^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED_STRING}))*$`;

/** Printable ASCII without space: S3 and MinIO upload ids. */
export const UPLOAD_ID_PATTERN = '^[!-~]+$';
/** Printable ASCII: ETags as stores return them (quotes included). */
export const ETAG_PATTERN = '^[ -~]+$';

/** The longest object key S3 stores. */
export const MAX_KEY_BYTES = 1024;

/**
 * Adds JSON Schema keywords to the OpenAPI document for rules the handler checks in code:
 * `description` for people, `x-max-utf8-bytes` for tools (JSON Schema counts characters).
 */
const documented = <S extends z.ZodMiniType>(schema: S, meta: Record<string, unknown>): S => {
  z.globalRegistry.add(schema, meta);
  return schema;
};

/** Printable text: the two rules above, each its own `pattern` in the document. */
const printable = () =>
  [
    z.regex(
      new RegExp(NO_CONTROL_CHARACTERS_PATTERN),
      'must not contain control characters (U+0000–U+001F, U+007F–U+009F)',
    ),
    z.regex(new RegExp(NO_UNPAIRED_SURROGATE_PATTERN), 'must not contain unpaired surrogates'),
  ] as const;

/** An S3 object key: 1–1024 bytes of UTF-8, no control characters, no dot segments. */
export const ObjectKeySchema = documented(
  z.string().check(
    z.minLength(1),
    z.refine(
      (key) => Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES,
      `must be at most ${MAX_KEY_BYTES} bytes of UTF-8`,
    ),
    z.maxLength(MAX_KEY_BYTES),
    ...printable(),
    z.regex(
      new RegExp(NO_DOT_SEGMENT_PATTERN),
      'must not have "." or ".." path segments: HTTP clients resolve them before sending (/bucket/a/../b is sent as /bucket/b), so the URL would address another object',
    ),
  ),
  {
    description: `1–${MAX_KEY_BYTES} bytes of UTF-8 (x-max-utf8-bytes; maxLength counts characters), no control characters (C0, DEL, C1), no unpaired surrogates, no "." or ".." path segment.`,
    'x-max-utf8-bytes': MAX_KEY_BYTES,
  },
);

const ExpiresInSchema = z.int({ error: integerError }).check(z.minimum(1), z.maximum(SIGV4_MAX_EXPIRES_IN));
/**
 * Up to `max` characters of printable text. Characters are code points, as JSON Schema's
 * `maxLength` counts them (an emoji is one), not UTF-16 units.
 */
const shortText = (max: number) =>
  documented(
    z.string().check(
      z.refine(
        (text) => text.length <= max || codePoints(text) <= max,
        `must be at most ${max} characters long`,
      ),
      ...printable(),
    ),
    { maxLength: max },
  );
const codePoints = (text: string) => {
  let count = 0;
  for (const _ of text) count++;
  return count;
};
export const ContentTypeSchema = documented(
  z
    .string()
    .check(
      z.maxLength(256),
      z.regex(
        new RegExp(MEDIA_TYPE_PATTERN),
        'must be an RFC 9110 media type in ASCII, such as text/plain or text/plain; charset=utf-8 (parameters separated by ";" with optional spaces or tabs)',
      ),
    ),
  { description: 'An RFC 9110 media type, ASCII only; optional whitespace is spaces and tabs only.' },
);
export const UploadIdSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(1024),
    z.regex(new RegExp(UPLOAD_ID_PATTERN), 'must be printable ASCII without spaces'),
  );
/** Requester pays: the caller's side is billed, not the bucket owner's. */
export const RequesterPaysSchema = documented(z.boolean(), {
  description:
    "Requester pays. S3: signs x-amz-request-payer=requester (sent as a header on the broker's own multipart calls). GCS: signs userProject=<project>, the project the deployment bills (GCP_REQUESTER_PAYS_PROJECT, or the signing service account's project).",
});
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
  requester_pays: z.optional(RequesterPaysSchema),
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
    requester_pays: z.optional(RequesterPaysSchema),
  }),
);
export type MultipartInitRequest = z.infer<typeof MultipartInitRequestSchema>;

export const MultipartPartsRequestSchema = z.lazy(() =>
  z.strictObject({
    key: ObjectKeySchema,
    upload_id: UploadIdSchema,
    part_numbers: documented(
      z.array(PartNumberSchema).check(
        z.minLength(1),
        z.maxLength(MAX_BATCH_ITEMS),
        z.refine((numbers) => new Set(numbers).size === numbers.length, 'must not repeat a part number'),
      ),
      { uniqueItems: true },
    ),
    expires_in: z.optional(ExpiresInSchema),
    requester_pays: z.optional(RequesterPaysSchema),
  }),
);
export type MultipartPartsRequest = z.infer<typeof MultipartPartsRequestSchema>;

export const MultipartCompleteRequestSchema = z.lazy(() =>
  z.strictObject({
    key: ObjectKeySchema,
    upload_id: UploadIdSchema,
    parts: documented(
      z
        .array(
          z.strictObject({
            part_number: PartNumberSchema,
            etag: z
              .string()
              .check(
                z.minLength(1),
                z.maxLength(1024),
                z.regex(new RegExp(ETAG_PATTERN), 'must be printable ASCII'),
              ),
          }),
        )
        .check(
          z.minLength(1),
          z.maxLength(10_000),
          // Any order: the service lists them ascending, as the stores need, so the order is not
          // a rule JSON Schema would have to state.
          z.refine(
            (parts) => new Set(parts.map((part) => part.part_number)).size === parts.length,
            'must not repeat a part number',
          ),
        ),
      {
        description:
          'In any order (the broker lists them ascending to the store); no part_number twice (checked by the API: JSON Schema cannot say it of one property, see x-unique-by).',
        'x-unique-by': 'part_number',
      },
    ),
    requester_pays: z.optional(RequesterPaysSchema),
  }),
);
export type MultipartCompleteRequest = z.infer<typeof MultipartCompleteRequestSchema>;

export const MultipartAbortRequestSchema = z.strictObject({
  key: ObjectKeySchema,
  upload_id: UploadIdSchema,
  requester_pays: z.optional(RequesterPaysSchema),
});
export type MultipartAbortRequest = z.infer<typeof MultipartAbortRequestSchema>;

/** A presigned URL and what the client must send with it. */
export interface PresignedUrl {
  url: string;
  method: PresignMethod;
  headers: Record<string, string>;
  expires_at: string;
}
