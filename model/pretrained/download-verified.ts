import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { PipelineError } from '../../common/errors.js';

/** Why a download was refused or failed. */
export type DownloadErrorCode = 'DOWNLOAD_FAILED' | 'DOWNLOAD_TOO_LARGE' | 'CHECKSUM_MISMATCH';

/** A download that failed or was refused: one line that says what happened; nothing is left on disk. */
export class DownloadError extends PipelineError {
  declare readonly code: DownloadErrorCode;
  constructor(code: DownloadErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, retryable: code === 'DOWNLOAD_FAILED' });
  }
}

/** A progress display: a bar on a terminal, nothing elsewhere. */
export interface DownloadProgress {
  increment(bytes: number): void;
  stop(): void;
}

/** Makes the progress display of a download of `totalBytes` (0 when the server does not say). */
export type DownloadProgressFactory = (totalBytes: number) => DownloadProgress;

const NO_PROGRESS: DownloadProgressFactory = () => ({ increment() {}, stop() {} });

/** Options of {@link downloadVerified}. */
export interface DownloadOptions {
  readonly url: string;
  /** Where the bytes go (removed again on any failure). */
  readonly file: string;
  /** The full SHA-256, or a prefix of it (a torch.hub name's 8 hex digits), the bytes must have. */
  readonly expectedSha256: string;
  /** The download fails when no byte arrives for this long. Default: 30 s. */
  readonly idleTimeoutMs?: number;
  /** The download fails when the server has not answered (status and headers) this long after the request. Default: the idle timeout. */
  readonly connectTimeoutMs?: number;
  /** The progress display. Default: none. */
  readonly progress?: DownloadProgressFactory;
  /**
   * The most bytes accepted: the download stops as soon as more arrive (a server that sends without
   * end). A Content-Length below it is the limit instead.
   */
  readonly maxBytes: number;
  /** Says where to get the file by other means (printed with network failures). Default: nothing. */
  readonly offlineHint?: string;
  /** Injected for tests. Default: global fetch. */
  readonly fetch?: typeof fetch;
}

/** The system error code somewhere in a fetch failure's cause chain (ECONNREFUSED, ENOTFOUND, …). */
function networkCode(error: unknown): string | undefined {
  for (
    let current = error as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined;
    current;
    current = current.cause as typeof current
  ) {
    if (typeof current.code === 'string' && /^E[A-Z]+$/.test(current.code)) return current.code;
    const nested = current.errors?.map(networkCode).find(Boolean);
    if (nested) return nested;
  }
  return undefined;
}

/** Aborts a download that goes silent: the answer must come within the connect timeout, then each chunk within the idle timeout of the last. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly timeoutMs: number,
    firstTimeoutMs = timeoutMs,
  ) {
    this.timer = setTimeout(() => this.controller.abort(), firstTimeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(), this.timeoutMs);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** The response whose body is to be read, and its announced length: no network, an HTTP error or too large a body is one line. */
async function openDownload(
  options: DownloadOptions,
  idle: IdleTimer,
): Promise<{ response: Response & { body: ReadableStream<Uint8Array> }; total: number }> {
  const { url } = options;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, { signal: idle.signal, redirect: 'follow' });
  } catch (error) {
    idle.stop();
    const code = idle.signal.aborted
      ? `no answer in ${(options.connectTimeoutMs ?? idle.timeoutMs) / 1000} s`
      : (networkCode(error) ?? ((error as { cause?: Error }).cause ?? (error as Error)).message);
    throw new DownloadError(
      'DOWNLOAD_FAILED',
      `cannot download ${url} (${code})${options.offlineHint ? `. ${options.offlineHint}` : ''}`,
      { cause: error },
    );
  }
  if (!response.ok || !response.body) {
    idle.stop();
    throw new DownloadError(
      'DOWNLOAD_FAILED',
      `${url} answered HTTP ${response.status} ${response.statusText}: nothing downloaded`,
    );
  }
  const total = Number(response.headers.get('content-length') ?? 0);
  if (total > options.maxBytes) {
    idle.stop();
    await response.body.cancel().catch(() => undefined);
    throw new DownloadError(
      'DOWNLOAD_TOO_LARGE',
      `${url} announces ${total} bytes, more than the ${options.maxBytes} accepted: nothing downloaded`,
    );
  }
  return { response: response as Response & { body: ReadableStream<Uint8Array> }, total };
}

/**
 * Downloads a file with a progress bar on a terminal, hashing it as it streams, and refuses it
 * (removing what was written) unless its SHA-256 is the expected one. Every failure is one line:
 * no network, an HTTP error, a connection that broke off, a wrong hash.
 */
export async function downloadVerified(options: DownloadOptions): Promise<{ sha256: string; bytes: number }> {
  const { url, file } = options;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const idle = new IdleTimer(idleTimeoutMs, options.connectTimeoutMs ?? idleTimeoutMs);
  const { response, total } = await openDownload(options, idle);
  idle.touch(); // the server answered: from here on, the idle timeout
  const limit = total > 0 ? total : options.maxBytes;
  const progress = (options.progress ?? NO_PROGRESS)(total);
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  // A write still under way when a broken download destroys the stream fails with
  // ERR_STREAM_DESTROYED: without a listener that would be an uncaught 'error' and a stack trace.
  let writeError: Error | undefined;
  out.on('error', (error) => (writeError ??= error));
  let bytes = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      idle.touch();
      bytes += chunk.length;
      if (bytes > limit)
        throw new PipelineError(
          'DOWNLOAD_TOO_LARGE',
          total > 0
            ? `more bytes than its Content-Length of ${total}`
            : `more than the ${options.maxBytes} bytes accepted`,
        );
      hash.update(chunk);
      progress.increment(chunk.length);
      if (writeError) throw writeError;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    if (total > 0 && bytes !== total)
      throw new PipelineError('DOWNLOAD_INCOMPLETE', `ended after ${bytes} of ${total} bytes`, { retryable: true });
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  } catch (error) {
    out.destroy();
    await rm(file, { force: true });
    const why = idle.signal.aborted ? `no data for ${idle.timeoutMs / 1000} s` : (error as Error).message;
    throw new DownloadError(
      'DOWNLOAD_FAILED',
      `the download of ${url} broke off after ${bytes}${total ? ` of ${total}` : ''} bytes (${why}); run the command again`,
      { cause: error },
    );
  } finally {
    idle.stop();
    progress.stop();
  }
  const sha256 = hash.digest('hex');
  if (!sha256.startsWith(options.expectedSha256.toLowerCase())) {
    await rm(file, { force: true });
    throw new DownloadError(
      'CHECKSUM_MISMATCH',
      `refused ${url}: its SHA-256 is ${sha256}, expected ${options.expectedSha256}${options.expectedSha256.length < 64 ? '…' : ''}; nothing was written`,
    );
  }
  return { sha256, bytes };
}

/** The largest download `model fetch` (or a first use) accepts from a URL other than the official one: AlexNet in float64 is about 490 MB. */
export const MAX_CHECKPOINT_DOWNLOAD_BYTES = 1024 * 2 ** 20;
