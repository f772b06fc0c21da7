import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { hasImageExtension } from '../../model/image-formats.js';
import type { ListedImage } from '../../pipeline/jobs/job-messages.js';
import { decodeS3EventKey } from '../../pipeline/s3-event.js';
import { CliError } from '../support/cli-error.js';
import type { ListedPage } from './list-images.js';

/** The largest `manifest.json` read: real ones list a file per few GB of inventory (a few KB). */
export const MAX_INVENTORY_MANIFEST_BYTES = 16 * 1024 * 1024;

/** Rows per page handed to the job (as a listing page). */
const ROWS_PER_PAGE = 1000;

/** What `submit --inventory` needs of an S3 Inventory report's `manifest.json`. */
export interface InventoryManifest {
  /** `s3://bucket/…/manifest.json`, as given. */
  readonly url: string;
  readonly sourceBucket: string;
  /** Where the data files are (the manifest's own bucket: S3 writes them beside it). */
  readonly destinationBucket: string;
  readonly fileFormat: 'CSV' | 'Parquet';
  /** CSV: the columns, in order (`fileSchema`). */
  readonly columns: readonly string[];
  readonly files: ReadonlyArray<{ readonly key: string }>;
}

function refused(url: string, why: string): CliError {
  return new CliError(`${url} is not an S3 Inventory manifest this can read: ${why}`, { code: 'BAD_INVENTORY' });
}

/** `s3://bucket/key` → its parts, or a one-line refusal. */
export function parseInventoryUrl(url: string): { bucket: string; key: string } {
  const parts = /^s3:\/\/([^/]+)\/(.+\.json)$/s.exec(url);
  if (!parts)
    throw new CliError(`--inventory takes s3://<bucket>/<path>/manifest.json, got "${url}"`, { code: 'BAD_INVENTORY' });
  return { bucket: parts[1]!, key: parts[2]! };
}

/**
 * Reads and checks a `manifest.json` (bounded: the object's size is checked before its body is
 * read). CSV and Parquet reports are read; ORC, or anything that is not a manifest, is refused in
 * one line saying what is wrong.
 */
export async function readInventoryManifest(s3: S3Client, url: string): Promise<InventoryManifest> {
  const { bucket, key } = parseInventoryUrl(url);
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if ((response.ContentLength ?? 0) > MAX_INVENTORY_MANIFEST_BYTES) {
    (response.Body as Readable | undefined)?.destroy();
    throw refused(url, `${response.ContentLength} bytes, over the ${MAX_INVENTORY_MANIFEST_BYTES} a manifest may have`);
  }
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(await response.Body!.transformToString()) as Record<string, unknown>;
  } catch {
    throw refused(url, 'it is not JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw refused(url, 'not a JSON object');
  const format = document.fileFormat;
  if (format === 'ORC') throw refused(url, 'its files are ORC; configure the inventory as CSV or Parquet');
  if (format !== 'CSV' && format !== 'Parquet')
    throw refused(url, `fileFormat is ${JSON.stringify(format)}, not CSV or Parquet`);
  if (typeof document.sourceBucket !== 'string' || document.sourceBucket === '')
    throw refused(url, 'it names no sourceBucket');
  const files = document.files;
  if (!Array.isArray(files) || files.length === 0 || !files.every((file) => typeof file?.key === 'string'))
    throw refused(url, 'its "files" is not a list of {"key": …}');
  const columns =
    typeof document.fileSchema === 'string' ? document.fileSchema.split(',').map((column) => column.trim()) : [];
  if (format === 'CSV' && !columns.includes('Key')) throw refused(url, 'its fileSchema has no Key column');
  return {
    url,
    sourceBucket: document.sourceBucket,
    destinationBucket: bucket,
    fileFormat: format,
    columns,
    files: files.map((file: { key: string }) => ({ key: file.key })),
  };
}

/**
 * The images an inventory lists below `prefix`, a page at a time, as `listImagePages` gives a
 * listing's: each data file is downloaded to a temporary file (streamed, never in memory) and read
 * by DuckDB (already the project's SQL engine; it reads gzip CSV and Parquet) in chunks. Delete
 * markers and versions that are not the latest are left out.
 */
export async function* inventoryImagePages(
  s3: S3Client,
  manifest: InventoryManifest,
  prefix: string,
): AsyncGenerator<ListedPage> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const folder = await mkdtemp(path.join(tmpdir(), 'alexnet-inventory-'));
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  try {
    for (const [index, file] of manifest.files.entries()) {
      const local = path.join(folder, `part-${index}`);
      const object = await s3.send(new GetObjectCommand({ Bucket: manifest.destinationBucket, Key: file.key }));
      await pipeline(object.Body as Readable, createWriteStream(local));
      const result = await connection.stream(selectRows(manifest, local));
      let page: ListedImage[] = [];
      let objects = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (const row of chunk.getRowObjects(result.columnNames()) as Array<Record<string, unknown>>) {
          const image = imageOf(row, manifest);
          if (!image || !image.key.startsWith(prefix)) continue;
          objects++;
          if (hasImageExtension(image.key)) page.push(image);
          if (objects === ROWS_PER_PAGE) {
            yield { images: page, objects, truncated: true };
            page = [];
            objects = 0;
          }
        }
      }
      if (objects > 0) yield { images: page, objects, truncated: true };
      await rm(local, { force: true });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(folder, { recursive: true, force: true });
  }
}

/** A DuckDB string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The data file's rows, with the columns a listing has (and the version flags, when present). */
function selectRows(manifest: InventoryManifest, file: string): string {
  // Every column as text (as CSV's are): one way to read both.
  if (manifest.fileFormat === 'Parquet') return `SELECT COLUMNS(*)::VARCHAR FROM read_parquet(${literal(file)})`;
  const columns = manifest.columns.map((column) => `${literal(column)}: 'VARCHAR'`).join(', ');
  return `SELECT * FROM read_csv(${literal(file)}, header = false, compression = 'gzip', columns = {${columns}})`;
}

/** A row as a listed image; undefined for a delete marker or an older version. */
function imageOf(row: Record<string, unknown>, manifest: InventoryManifest): ListedImage | undefined {
  const csv = manifest.fileFormat === 'CSV';
  const value = (csvName: string, parquetName: string) => row[csv ? csvName : parquetName];
  const flag = (text: unknown) => text === true || text === 'true';
  if (flag(value('IsDeleteMarker', 'is_delete_marker'))) return undefined;
  const latest = value('IsLatest', 'is_latest');
  if (latest !== undefined && latest !== null && !flag(latest)) return undefined;
  const key = value('Key', 'key');
  if (typeof key !== 'string' || key === '') return undefined;
  const modified = value('LastModifiedDate', 'last_modified_date');
  return {
    bucket: manifest.sourceBucket,
    // CSV inventories URL-encode keys (as event notifications do); Parquet's are as they are.
    key: csv ? decodeS3EventKey(key) : key,
    etag: String(value('ETag', 'e_tag') ?? '').replaceAll('"', ''),
    size: Number(value('Size', 'size') ?? 0),
    lastModified: isoTime(modified),
  };
}

/** A listed time as ISO 8601: CSV's is already; DuckDB writes a Parquet timestamp as `2026-12-01 10:00:00[+00]`. */
function isoTime(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : '';
  const iso = text.replace(/^(\d{4}-\d\d-\d\d) /, '$1T').replace(/([+-]\d\d)$/, '$1:00');
  const time = new Date(/T.*(Z|[+-]\d\d:\d\d)$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(time.getTime()) ? new Date(0).toISOString() : time.toISOString();
}
