import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../../common/logger.js';
import { projectRoot } from '../../common/paths.js';
import { describeImageExtensions } from '../../model/image-formats.js';
import { normalizeEtag } from '../../pipeline/result-document.js';
import { explainAwsError } from '../aws-errors.js';
import { queueDepth } from '../queue-depth.js';
import { ResultCache } from '../result-cache.js';
import { UNTRAINED_NOTICE } from '../result-format.js';
import type { Target } from '../target.js';
import { checkAccessToken, checkHostHeader, newAccessToken, tokenOfRequest } from './access-token.js';
import { GalleryRequestError } from './gallery-errors.js';
import { GalleryIndex, type GalleryIndexOptions } from './gallery-index.js';
import { Thumbnails } from './thumbnails.js';
import { checkUploadBody, galleryUploadKey, IMAGE_MEDIA_TYPE_BY_EXTENSION } from './upload-rules.js';

/** The page's files, served as they are: no build step. */
export const GALLERY_PAGE_FOLDER = path.join(projectRoot, 'cli', 'gallery', 'page');

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/gallery.js': { file: 'gallery.js', type: 'text/javascript; charset=utf-8' },
  '/gallery.css': { file: 'gallery.css', type: 'text/css; charset=utf-8' },
};

/**
 * The page may run only its own script and style, load images only from this server, and talk only
 * to it; no other site may frame it, and the token in its URL is never sent as a referrer.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
} as const;

export interface GalleryServerOptions {
  readonly target: Target;
  /** The folder shown: the uploads prefix, or a folder below it (ending in '/'). */
  readonly root: string;
  /** Loopback port; 0 picks a free one. */
  readonly port: number;
  readonly logger: Logger;
  /** The pipeline's limits: larger uploads are refused, larger images get no thumbnail. */
  readonly limits: { readonly maxBytes: number; readonly maxPixels: number };
  /** How often the index looks for new images and results while a page is open… */
  readonly refreshIntervalMs?: number;
  /** …and how long after a page last asked it stops looking (no S3 requests for nobody); a page asking again resumes it. */
  readonly pauseWithoutPageMs?: number;
  /** Tuning of the index (tests make its listings more or less frequent). */
  readonly index?: Partial<Pick<GalleryIndexOptions, 'relistMinimumMs' | 'relistFactor' | 'relistMaximumMs' | 'pendingChecksPerRefresh' | 'concurrency'>>;
  /** A fixed token (tests); default: a new random one. */
  readonly token?: string;
  /**
   * Upload bodies held in memory at once, in bytes (each is read whole before it is checked and
   * stored): an upload that would pass it is refused at once (503, try again). Default: four uploads
   * of the largest size.
   */
  readonly uploadBufferBytes?: number;
  /** An upload whose body stops coming for this long is dropped (its connection closed). Default: 30 s. */
  readonly idleTimeoutMs?: number;
  /**
   * Where result summaries are kept between runs (by ETag): default `.cache/gallery/` for a deployed
   * stack, none for an emulator (its bucket lives in memory and its port changes every run).
   */
  readonly cache?: ResultCache | false;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The page and its static files: the only routes served without the token. */
    readonly publicPage?: boolean;
  }
}

/** The gallery's cache of result summaries: its folder below `.cache/`, and the shape's version. */
export const GALLERY_CACHE = { folder: 'gallery', version: '2' } as const;

/**
 * The gallery's web server: the page, and the JSON and image calls behind it, on 127.0.0.1 only.
 * It reads and writes the bucket with the user's credentials; the browser gets card data and
 * thumbnails, never a credential. Every call but the page's own files needs the token of the
 * printed URL — decided by the route the request matched, not by how its path is spelt.
 */
export class GalleryServer {
  private readonly queueCounts: QueueCounts;
  /** The page's files, read once at start: a busy server still serves them at once. */
  private readonly pageFiles = new Map<string, Buffer>();
  /** When a page last asked for cards or counts (start counts as one). */
  private pageSeenAt = Date.now();
  private constructor(
    readonly app: FastifyInstance,
    readonly index: GalleryIndex,
    readonly thumbnails: Thumbnails,
    readonly token: string,
    private readonly timer: NodeJS.Timeout,
    private readonly options: GalleryServerOptions,
  ) {
    this.queueCounts = new QueueCounts(options.target);
  }

  /** The page's address with its token: what the user opens. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/?token=${this.token}`;
  }

  get port(): number {
    const address = this.app.server.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }

  static async start(options: GalleryServerOptions): Promise<GalleryServer> {
    const { target, root, logger } = options;
    const token = options.token ?? newAccessToken();
    const cache = options.cache ?? (target.kind === 'aws' ? await ResultCache.open({ endpoint: target.endpoint, bucket: target.bucket, prefix: root }, GALLERY_CACHE) : false);
    const index = new GalleryIndex({ s3: target.s3, bucket: target.bucket, layout: target.layout, root, logger, ...(cache ? { cache } : {}), ...options.index });
    const thumbnails = new Thumbnails({ s3: target.s3, bucket: target.bucket, ...options.limits });
    // Ctrl-C closes the server at once, also with a browser's keep-alive connections or a stalled upload open.
    const app = Fastify({ logger: false, bodyLimit: options.limits.maxBytes, forceCloseConnections: true });
    const timer = setInterval(() => server.refreshWhileWatched(), options.refreshIntervalMs ?? 500);
    timer.unref();
    const server = new GalleryServer(app, index, thumbnails, token, timer, options);
    server.routes();
    try {
      for (const [route, page] of Object.entries(PAGE_FILES)) server.pageFiles.set(route, await readFile(path.join(GALLERY_PAGE_FOLDER, page.file)));
      await app.listen({ host: '127.0.0.1', port: options.port });
    } catch (error) {
      clearInterval(timer);
      throw error;
    }
    void index.refresh();
    return server;
  }

  /** True while a page has asked for something within `pauseWithoutPageMs`. */
  private get watched(): boolean {
    return Date.now() - this.pageSeenAt <= (this.options.pauseWithoutPageMs ?? 30_000);
  }

  /** A refresh, unless no page has asked for anything for a while. */
  private refreshWhileWatched(): void {
    if (this.watched) void this.index.refresh();
  }

  /** A page asked: after a pause, refresh at once rather than at the next tick. */
  private pageAsked(): void {
    const wasWatched = this.watched;
    this.pageSeenAt = Date.now();
    if (!wasWatched) void this.index.refresh();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.app.close();
    await this.index.saveCache();
  }

  private routes(): void {
    const { app, index, thumbnails, token, options } = this;
    const { target, root, limits } = options;

    // On the route the router matched, whatever the spelling of the path (`/%61pi/cards`, an
    // absolute-form target, `//api`): every route needs the token unless it is marked as the page.
    // A path that matches nothing needs it too, so a refusal says nothing about what exists.
    app.addHook('onRequest', async (request) => {
      checkHostHeader(request.headers.host, this.port);
      if (request.routeOptions.config.publicPage !== true) checkAccessToken(tokenOfRequest(request.headers, request.query), token);
    });
    app.addHook('onSend', async (_request, reply) => {
      reply.headers(SECURITY_HEADERS);
    });
    app.setErrorHandler((error, request, reply) => this.sendError(error, request, reply));
    app.setNotFoundHandler((request, reply) => this.sendError(new GalleryRequestError(404, 'NOT_FOUND', `nothing at ${request.method} ${request.url.split('?')[0]}`), request, reply));
    // Upload bodies arrive raw (any type): the route checks the type itself, with a clear message.
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    for (const [route, page] of Object.entries(PAGE_FILES)) {
      app.get(route, { config: { publicPage: true } }, async (_request, reply) => reply.type(page.type).header('cache-control', 'no-cache').send(this.pageFiles.get(route)));
    }

    app.get('/api/summary', async (_request, reply) => {
      this.pageAsked();
      const counts = index.counts();
      const queues = await this.queueCounts.get();
      return reply.header('cache-control', 'no-store').send({
        target: target.description,
        bucket: target.bucket,
        root,
        uploadsPrefix: target.layout.uploadsPrefix,
        counts: { uploaded: counts.uploaded, done: counts.ok + counts.error, ok: counts.ok, errors: counts.error, pending: counts.pending },
        queue: queues.queue,
        deadLetters: queues.deadLetters,
        untrained: counts.untrained,
        listings: index.listings,
        untrainedNotice: UNTRAINED_NOTICE,
        limits: { maxBytes: limits.maxBytes, mediaTypeByExtension: IMAGE_MEDIA_TYPE_BY_EXTENSION, describeExtensions: describeImageExtensions() },
        ...(index.lastError ? { problem: this.explain(index.lastError) } : {}),
        ...(queues.problem ? { queueProblem: queues.problem } : {}),
      });
    });

    app.get('/api/cards', async (request, reply) => {
      const since = Number((request.query as Record<string, unknown>).since ?? 0);
      if (!Number.isSafeInteger(since) || since < 0) throw new GalleryRequestError(400, 'BAD_VERSION', 'since= must be a version number the gallery returned (0 for everything)');
      this.pageAsked();
      // The first answer also carries the notice that goes with labels from untrained weights.
      return reply.header('cache-control', 'no-store').send({ ...index.changesSince(since), ...(since === 0 ? { untrainedNotice: UNTRAINED_NOTICE } : {}) });
    });

    app.get('/api/thumbnail', async (request, reply) => {
      const { key, v } = request.query as Record<string, unknown>;
      // Only images below the gallery's folder: the call cannot read anything else in the bucket.
      if (typeof key !== 'string' || !key.startsWith(root)) throw new GalleryRequestError(403, 'OUTSIDE_GALLERY', `thumbnails are made only of images below ${root}`);
      const thumbnail = await thumbnails.get(key, typeof v === 'string' ? v : undefined);
      if (!thumbnail) throw new GalleryRequestError(404, 'NO_SUCH_IMAGE', 'the image is not in the bucket (any more)');
      // An image without a thumbnail gets a placeholder and its reason in a header: the page logs no failed load.
      if ('problem' in thumbnail) return reply.type('image/svg+xml').header('x-thumbnail-problem', thumbnail.problem.code).header('cache-control', 'no-store').send(PLACEHOLDER_SVG);
      const cacheable = typeof v === 'string' && v === thumbnail.etag;
      return reply.type('image/webp').header('cache-control', cacheable ? 'private, max-age=31536000, immutable' : 'no-store').send(thumbnail.webp);
    });

    // Before a byte of the body is read: its length must be declared, fit the limit (the body limit
    // refuses a larger one) and fit what all uploads under way may hold; the bytes are counted until
    // the answer is sent.
    const uploadBuffer = { held: 0, most: options.uploadBufferBytes ?? 4 * limits.maxBytes };
    const heldByRequest = new WeakMap<FastifyRequest, number>();
    const releaseUpload = (request: FastifyRequest) => {
      uploadBuffer.held -= heldByRequest.get(request) ?? 0;
      heldByRequest.delete(request);
      request.raw.socket?.setTimeout(0);
    };
    const reserveUpload = async (request: FastifyRequest, reply: FastifyReply) => {
      // A body that stops coming, or one refused here and never sent: its connection is closed.
      const socket = request.raw.socket;
      socket.setTimeout(options.idleTimeoutMs ?? 30_000);
      socket.once('timeout', () => socket.destroy());
      reply.header('connection', 'close');
      const declared = Number(request.headers['content-length']);
      if (request.headers['content-length'] === undefined || !Number.isSafeInteger(declared) || declared < 0) throw new GalleryRequestError(411, 'LENGTH_REQUIRED', 'an upload must say its length (Content-Length)');
      if (declared > limits.maxBytes) return; // the route's body limit answers 413
      if (uploadBuffer.held + declared > uploadBuffer.most) throw new GalleryRequestError(503, 'UPLOADS_BUSY', `the gallery is receiving ${uploadBuffer.held} bytes of uploads already: try this one again in a moment`);
      uploadBuffer.held += declared;
      heldByRequest.set(request, declared);
    };
    app.put('/api/upload', { bodyLimit: limits.maxBytes, onRequest: reserveUpload, onResponse: async (request) => releaseUpload(request), onRequestAbort: async (request) => releaseUpload(request) }, async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const key = galleryUploadKey({ root, uploadsPrefix: target.layout.uploadsPrefix, folder: query.folder, name: query.name });
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const contentType = await checkUploadBody(body, request.headers['content-type'], limits);
      const stored = await target.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentType: contentType }));
      index.recordUpload({ key, etag: normalizeEtag(stored.ETag), size: body.length, lastModified: new Date() });
      options.logger.info({ key, bytes: body.length }, 'gallery upload');
      return reply.code(201).header('cache-control', 'no-store').send({ key });
    });
  }

  private explain(error: Error): string {
    const { target } = this.options;
    return explainAwsError(error, { bucket: target.bucket, queueUrl: target.queueUrl, endpoint: target.endpoint, profile: target.profile }).message;
  }

  /** Every refusal and failure as `{ error: { code, message } }`: no stack, nothing of the server's environment. */
  private sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const failure = error as { statusCode?: number; code?: string; message?: string };
    let status: number;
    let body: { code: string; message: string };
    if (error instanceof GalleryRequestError) {
      status = error.statusCode;
      body = { code: error.code, message: error.message };
    } else if (failure.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      body = { code: 'FILE_TOO_LARGE', message: `uploads may have at most ${this.options.limits.maxBytes} bytes` };
    } else if (typeof failure.statusCode === 'number' && failure.statusCode >= 400 && failure.statusCode < 500) {
      status = failure.statusCode;
      body = { code: 'BAD_REQUEST', message: failure.message ?? 'bad request' };
    } else {
      status = failure.code === 'NO_SUCH_BUCKET' || (error as { $metadata?: unknown }).$metadata ? 502 : 500;
      body = { code: status === 502 ? 'STORAGE_FAILED' : 'INTERNAL_ERROR', message: status === 502 ? this.explain(error as Error) : 'the gallery failed; its terminal has the details (LOG_LEVEL=debug)' };
      this.options.logger.warn({ err: error, url: request.url.split('?')[0] }, 'gallery request failed');
    }
    return reply.code(status).header('cache-control', 'no-store').send({ error: body });
  }
}

/** Queue and dead-letter depths, read at most every two seconds however many pages ask. */
class QueueCounts {
  private last?: { at: number; value: Promise<{ queue: { visible: number; inFlight: number } | null; deadLetters: number | null; problem?: string }> };
  constructor(private readonly target: Target) {}

  get(): Promise<{ queue: { visible: number; inFlight: number } | null; deadLetters: number | null; problem?: string }> {
    if (!this.last || Date.now() - this.last.at > 2_000) this.last = { at: Date.now(), value: this.read() };
    return this.last.value;
  }

  private async read() {
    const { sqs, queueUrl, dlqUrl } = this.target;
    try {
      const [queue, deadLetters] = await Promise.all([queueUrl ? queueDepth(sqs, queueUrl) : null, dlqUrl ? queueDepth(sqs, dlqUrl) : null]);
      return { queue, deadLetters: deadLetters ? deadLetters.visible + deadLetters.inFlight : null };
    } catch (error) {
      const problem = explainAwsError(error, { queueUrl: queueUrl ?? dlqUrl, endpoint: this.target.endpoint, profile: this.target.profile }).message;
      return { queue: null, deadLetters: null, problem };
    }
  }
}

/** What a card shows for an image that has no thumbnail (not an image, too large). */
const PLACEHOLDER_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120" viewBox="0 0 160 120"><rect width="160" height="120" fill="#eee"/><path d="M50 85l25-30 18 20 12-12 15 22z" fill="#bbb"/><circle cx="62" cy="42" r="8" fill="#bbb"/><line x1="30" y1="20" x2="130" y2="100" stroke="#c33" stroke-width="4"/></svg>';
