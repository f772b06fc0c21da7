import { encodeS3EventKey } from '../pipeline/s3-event.js';

/** The ObjectCreated events S3 sends, by the operation that created the object. */
export type ObjectCreatedEventName =
  'ObjectCreated:Put' | 'ObjectCreated:Post' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload';

/** Bucket and key of a path-style S3 URL (`/bucket/some/key?query`). */
export function parseS3Path(url: string): { bucket?: string; key?: string } {
  const path = url.split('?')[0] ?? '';
  const slash = path.indexOf('/', 1);
  if (path.length <= 1) return {};
  if (slash < 0) return { bucket: decodeURIComponent(path.slice(1)) };
  const key = decodeURIComponent(path.slice(slash + 1));
  return { bucket: decodeURIComponent(path.slice(1, slash)), key: key.length > 0 ? key : undefined };
}

function queryOf(url: string): URLSearchParams {
  return new URLSearchParams(url.split('?')[1] ?? '');
}

/** The query names that select an S3 operation; `x-id` (the SDK's) and `X-Amz-*` (presigning) do not. */
function subresources(url: string): string[] {
  return [...queryOf(url).keys()].filter((name) => !/^x-/i.test(name));
}

/**
 * The event a successful S3 request causes, as S3 names it, or none: a plain PUT is a Put, a
 * PUT with `x-amz-copy-source` a Copy, the POST that completes a multipart upload a
 * CompleteMultipartUpload. Parts, ACLs, tags and everything else create nothing.
 */
export function createdEventName(
  method: string,
  url: string,
  status: number,
  headers: Readonly<Record<string, unknown>>,
): ObjectCreatedEventName | undefined {
  if (status !== 200) return undefined;
  const names = subresources(url);
  if (method === 'PUT' && names.length === 0)
    return headers['x-amz-copy-source'] ? 'ObjectCreated:Copy' : 'ObjectCreated:Put';
  if (method === 'POST' && names.includes('uploadId')) return 'ObjectCreated:CompleteMultipartUpload';
  return undefined;
}

/**
 * The object a request writes as a whole — a PutObject, a CopyObject, the completion of a multipart
 * upload — or none (reads, parts, bucket calls): the writes S3 orders per key and checks
 * `If-None-Match` / `If-Match` on.
 */
export function objectWriteOf(method: string, url: string): { bucket: string; key: string } | undefined {
  const { bucket, key } = parseS3Path(url);
  if (!bucket || !key) return undefined;
  const names = subresources(url);
  if ((method === 'PUT' && names.length === 0) || (method === 'POST' && names.includes('uploadId')))
    return { bucket, key };
  return undefined;
}

/** An S3 error answer: status, code, message. */
export interface S3Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/**
 * What S3 answers a conditional write whose precondition does not hold, given the object's current
 * ETag (undefined when there is none): `If-None-Match: *` on an existing object → 412; `If-Match`
 * on another ETag → 412, on no object → 404 NoSuchKey; any other `If-None-Match` → 501. Undefined
 * when the write may go ahead.
 */
export function writeConditionRefusal(
  headers: Readonly<Record<string, unknown>>,
  currentEtag: string | undefined,
): S3Refusal | undefined {
  const ifNoneMatch = typeof headers['if-none-match'] === 'string' ? headers['if-none-match'].trim() : undefined;
  const ifMatch = typeof headers['if-match'] === 'string' ? headers['if-match'].trim() : undefined;
  const failed = {
    status: 412,
    code: 'PreconditionFailed',
    message: 'At least one of the pre-conditions you specified did not hold',
  };
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch !== '*')
      return { status: 501, code: 'NotImplemented', message: 'If-None-Match on a write takes only *' };
    if (currentEtag !== undefined) return failed;
  }
  if (ifMatch !== undefined) {
    if (currentEtag === undefined)
      return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    if (ifMatch.replace(/"/g, '') !== currentEtag) return failed;
  }
  return undefined;
}

/** True when a write carries a precondition (the emulator then needs the object's current ETag). */
export function hasWriteCondition(headers: Readonly<Record<string, unknown>>): boolean {
  return headers['if-none-match'] !== undefined || headers['if-match'] !== undefined;
}

/**
 * Object writes the embedded emulator gets wrong (it would empty or replace the object: an ACL, a
 * tag set, a retention setting written as the object's body) and therefore refuses, by name.
 * Plain PUTs, copies, multipart uploads and bucket-level requests pass.
 */
export function unsupportedObjectWrite(method: string, url: string): string | undefined {
  if (method !== 'PUT' && method !== 'POST') return undefined;
  if (!parseS3Path(url).key) return undefined;
  const names = subresources(url);
  if (names.length === 0) return undefined;
  if (method === 'PUT' && names.includes('partNumber') && names.includes('uploadId')) return undefined;
  if (method === 'POST' && (names.includes('uploads') || names.includes('uploadId'))) return undefined;
  return `${method} ?${names[0]}`;
}

/** The access key id a request was signed with (SigV4 header or presigned query), if any. */
export function requestAccessKeyId(headers: Readonly<Record<string, unknown>>, url: string): string | undefined {
  const authorization = typeof headers.authorization === 'string' ? headers.authorization : '';
  const fromHeader = /Credential=([^/,\s]+)\//.exec(authorization)?.[1];
  return fromHeader ?? queryOf(url).get('X-Amz-Credential')?.split('/')[0];
}

/** True when a request asks for keys in a list response to be URL-encoded. */
export function wantsUrlEncodedKeys(method: string, url: string): boolean {
  return method === 'GET' && !parseS3Path(url).key && queryOf(url).get('encoding-type') === 'url';
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (entity, body: string) => {
    if (body.startsWith('#x')) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
    return XML_ENTITIES[body] ?? entity;
  });
}

/**
 * What S3 does for `encoding-type=url` and the emulator does not: each key in a list response
 * URL-encoded (form style, as S3 encodes keys in events), so that keys holding characters XML
 * cannot carry — a carriage return above all, which XML parsers turn into a line feed — survive.
 */
export function encodeListedKeys(xml: string): string {
  const encoded = xml.replace(
    /<(Key|Prefix|StartAfter)>([^<]*)<\/\1>/g,
    (_match, tag: string, text: string) => `<${tag}>${encodeS3EventKey(xmlUnescape(text))}</${tag}>`,
  );
  return encoded.includes('<EncodingType>')
    ? encoded
    : encoded.replace(/(<ListBucketResult[^>]*>)/, '$1<EncodingType>url</EncodingType>');
}
