/**
 * The S3 wire format the demo store speaks: its error type and the few XML documents it reads
 * and writes. Kept apart from the server so the HTTP routing reads as S3 operations only.
 */

/** An S3 error answer: HTTP status, S3 error code and message, as S3 sends them. */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'S3Error';
  }
}

/** The XML namespace S3 documents carry; the SDK's parser does not need it, other clients may. */
const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * Escapes text for an XML element. Control characters a key may hold are written as character
 * references, as S3 does, so a parser never sees a raw one.
 */
export function escapeXml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes.
  return text.replace(/[&<>"'\u0000-\u0008\u000B\u000C\u000D\u000E-\u001F]/g, (char) => {
    switch (char) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${char.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

/** `<Name>text</Name>`, the text escaped. */
export function element(name: string, text: string | number | boolean): string {
  return `<${name}>${escapeXml(String(text))}</${name}>`;
}

/** A complete S3 XML document whose root element carries the S3 namespace. */
export function xmlDocument(root: string, children: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NAMESPACE}">${children}</${root}>`;
}

/** The body of an S3 error answer (S3 error documents carry no namespace). */
export function errorDocument(error: S3Error, resource: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${element('Code', error.code)}${element(
    'Message',
    error.message,
  )}${element('Resource', resource)}${element('RequestId', requestId)}</Error>`;
}

/** One part a client names in CompleteMultipartUpload. */
export interface CompletedPart {
  partNumber: number;
  /** The ETag as the client sent it, quotes removed. */
  etag: string;
}

/**
 * Reads a CompleteMultipartUpload body. The document is small and flat (a list of `<Part>` with
 * a number and an ETag, maybe checksums we do not keep), so it is read with anchored patterns
 * rather than a general XML parser, which would be a new runtime dependency.
 */
export function parseCompleteMultipartUpload(xml: string): CompletedPart[] {
  const body = xml.replace(/^\uFEFF/, '').replace(/^\s*<\?xml[^>]*\?>/, '');
  const root = /^\s*<CompleteMultipartUpload(?:\s[^>]*)?>([\s\S]*)<\/CompleteMultipartUpload>\s*$/.exec(body);
  if (root?.[1] === undefined) throw malformed();
  const parts: CompletedPart[] = [];
  const rest = root[1].replace(/<Part>([\s\S]*?)<\/Part>/g, (_match, inner: string) => {
    const number = /<PartNumber>\s*(\d{1,5})\s*<\/PartNumber>/.exec(inner)?.[1];
    const etag = /<ETag>([^<]*)<\/ETag>/.exec(inner)?.[1];
    if (number === undefined || etag === undefined) throw malformed();
    parts.push({ partNumber: Number(number), etag: unquote(unescapeXml(etag.trim())) });
    return '';
  });
  // Anything left besides whitespace is not a part: refuse it rather than guess.
  if (rest.trim() !== '' || parts.length === 0) throw malformed();
  return parts;
}

function malformed(): S3Error {
  return new S3Error(
    400,
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema.',
  );
}

/** ETags travel quoted (`"…"`); compare them without the quotes. */
export function unquote(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

function unescapeXml(text: string): string {
  return text.replace(
    /&(quot|apos|lt|gt|amp|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));/g,
    (entity, name: string, dec, hex) => {
      if (dec === undefined && hex === undefined)
        return { quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' }[name] ?? entity;
      const codePoint = dec === undefined ? Number.parseInt(hex, 16) : Number(dec);
      if (codePoint > 0x10ffff) throw malformed();
      return String.fromCodePoint(codePoint);
    },
  );
}
