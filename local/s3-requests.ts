import { encodeS3EventKey } from '../pipeline/s3-event.js';

/** The ObjectCreated events S3 sends, by the operation that created the object. */
export type ObjectCreatedEventName = 'ObjectCreated:Put' | 'ObjectCreated:Post' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload';

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
export function createdEventName(method: string, url: string, status: number, headers: Readonly<Record<string, unknown>>): ObjectCreatedEventName | undefined {
  if (status !== 200) return undefined;
  const names = subresources(url);
  if (method === 'PUT' && names.length === 0) return headers['x-amz-copy-source'] ? 'ObjectCreated:Copy' : 'ObjectCreated:Put';
  if (method === 'POST' && names.includes('uploadId')) return 'ObjectCreated:CompleteMultipartUpload';
  return undefined;
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
  const encoded = xml.replace(/<(Key|Prefix|StartAfter)>([^<]*)<\/\1>/g, (_match, tag: string, text: string) => `<${tag}>${encodeS3EventKey(xmlUnescape(text))}</${tag}>`);
  return encoded.includes('<EncodingType>') ? encoded : encoded.replace(/(<ListBucketResult[^>]*>)/, '$1<EncodingType>url</EncodingType>');
}
