import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../../common/logger.js';
import { projectRoot } from '../../common/paths.js';
import { describeImageExtensions } from '../../model/image-formats.js';
import { normalizeEtag } from '../../pipeline/result-document.js';
import { explainAwsError } from '../target/aws-errors.js';
import { placeResult } from '../../pipeline/result-location.js';
import { resultsFolderOf, sourceLayoutOfTarget } from '../results/object-arguments.js';
import { ResultCache } from '../results/result-cache.js';
import { UNTRAINED_NOTICE } from '../results/result-format.js';
import type { Target } from '../target/target.js';
import { checkAccessToken, checkHostHeader, newAccessToken, tokenOfRequest } from './access-token.js';
import { GalleryRequestError } from './gallery-errors.js';
import { errorReply, PLACEHOLDER_SVG, SECURITY_HEADERS } from './gallery-replies.js';
import { QueueCounts } from './queue-counts.js';
import { RefreshSchedule } from './refresh-schedule.js';
import { UploadAdmission } from './upload-admission.js';
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

export interface GalleryServerOptions {
  readonly target: Target;
  /**
   * The folder shown (ending in '/'): the uploads prefix or a folder below it — or, read-only, any
   * folder of the pipeline's bucket or of one of its source buckets (`imagesBucket`).
   */
  readonly root: string;
  /** The bucket of the folder shown. Default: the pipeline's. */
  readonly imagesBucket?: string;
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
  readonly index?: Partial<
    Pick<
      GalleryIndexOptions,
      'relistMinimumMs' | 'relistFactor' | 'relistMaximumMs' | 'pendingChecksPerRefresh' | 'concurrency'
    >
  >;
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
  private constructor(
    readonly app: FastifyInstance,
    readonly index: GalleryIndex,
    readonly thumbnails: Thumbnails,
    readonly token: string,
    private readonly schedule: RefreshSchedule,
    private readonly options: GalleryServerOptions,
  ) {
    this.queueCounts = new QueueCounts(options.target);
  }

  /** The bucket of the images shown. */
  get imagesBucket(): string {
    return this.options.imagesBucket ?? this.options.target.bucket;
  }

  /** A folder outside the uploads prefix is shown, not uploaded into: the stack does not own it, or the pipeline does not watch it. */
  get readOnly(): boolean {
    const { target, root } = this.options;
    return this.imagesBucket !== target.bucket || !root.startsWith(target.layout.uploadsPrefix);
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
    const imagesBucket = options.imagesBucket ?? target.bucket;
    const token = options.token ?? newAccessToken();
    const cache =
      options.cache ??
      (target.kind === 'aws'
        ? await ResultCache.open({ endpoint: target.endpoint, bucket: imagesBucket, prefix: root }, GALLERY_CACHE)
        : false);
    // One rule for where a result is, the worker's (`placeResult`): mirrored for an upload, below
    // `results/_buckets/<bucket>/` for an image elsewhere; what the pipeline does not label is not shown.
    const layout = sourceLayoutOfTarget(target);
    const index = new GalleryIndex({
      s3: target.s3,
      bucket: target.bucket,
      layout: target.layout,
      root,
      imagesBucket,
      resultKeyOf: (key) => {
        const placement = placeResult({ bucket: imagesBucket, key }, layout, true);
        return 'result' in placement ? placement.result.key : undefined;
      },
      resultsFolder: resultsFolderOf({ bucket: imagesBucket, key: root }, target),
      logger,
      ...(cache ? { cache } : {}),
      ...options.index,
    });
    const thumbnails = new Thumbnails({ s3: target.s3, bucket: imagesBucket, ...options.limits });
    // Ctrl-C closes the server at once, also with a browser's keep-alive connections or a stalled upload open.
    const app = Fastify({ logger: false, bodyLimit: options.limits.maxBytes, forceCloseConnections: true });
    const schedule = new RefreshSchedule(() => void index.refresh(), {
      intervalMs: options.refreshIntervalMs ?? 500,
      pauseWithoutPageMs: options.pauseWithoutPageMs ?? 30_000,
    });
    const server = new GalleryServer(app, index, thumbnails, token, schedule, options);
    server.routes();
    try {
      for (const [route, page] of Object.entries(PAGE_FILES))
        server.pageFiles.set(route, await readFile(path.join(GALLERY_PAGE_FOLDER, page.file)));
      await app.listen({ host: '127.0.0.1', port: options.port });
    } catch (error) {
      schedule.stop();
      throw error;
    }
    void index.refresh();
    return server;
  }

  async close(): Promise<void> {
    this.schedule.stop();
    await this.app.close();
    await this.index.saveCache();
  }

  private routes(): void {
    const { app, token } = this;

    // On the route the router matched, whatever the spelling of the path (`/%61pi/cards`, an
    // absolute-form target, `//api`): every route needs the token unless it is marked as the page.
    // A path that matches nothing needs it too, so a refusal says nothing about what exists.
    app.addHook('onRequest', async (request) => {
      checkHostHeader(request.headers.host, this.port);
      if (request.routeOptions.config.publicPage !== true)
        checkAccessToken(tokenOfRequest(request.headers, request.query), token);
    });
    app.addHook('onSend', async (_request, reply) => {
      reply.headers(SECURITY_HEADERS);
    });
    app.setErrorHandler((error, request, reply) => this.sendError(error, request, reply));
    app.setNotFoundHandler((request, reply) =>
      this.sendError(
        new GalleryRequestError(404, 'NOT_FOUND', `nothing at ${request.method} ${request.url.split('?')[0]}`),
        request,
        reply,
      ),
    );
    // Upload bodies arrive raw (any type): the route checks the type itself, with a clear message.
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    this.pageRoutes();
    this.readRoutes();
    this.uploadRoute();
  }

  private pageRoutes(): void {
    for (const [route, page] of Object.entries(PAGE_FILES)) {
      this.app.get(route, { config: { publicPage: true } }, async (_request, reply) =>
        reply.type(page.type).header('cache-control', 'no-cache').send(this.pageFiles.get(route)),
      );
    }
  }

  /** The page's calls: counts, cards changed since a version, thumbnails. */
  private readRoutes(): void {
    const { app, index, thumbnails, options } = this;
    const { target, root, limits } = options;

    app.get('/api/summary', async (_request, reply) => {
      this.schedule.pageAsked();
      const counts = index.counts();
      const queues = await this.queueCounts.get();
      return reply.header('cache-control', 'no-store').send({
        target: target.description,
        bucket: this.imagesBucket,
        root,
        readOnly: this.readOnly,
        uploadsPrefix: target.layout.uploadsPrefix,
        counts: {
          uploaded: counts.uploaded,
          done: counts.ok + counts.error,
          ok: counts.ok,
          errors: counts.error,
          pending: counts.pending,
        },
        queue: queues.queue,
        deadLetters: queues.deadLetters,
        untrained: counts.untrained,
        listings: index.listings,
        untrainedNotice: UNTRAINED_NOTICE,
        limits: {
          maxBytes: limits.maxBytes,
          mediaTypeByExtension: IMAGE_MEDIA_TYPE_BY_EXTENSION,
          describeExtensions: describeImageExtensions(),
        },
        ...(index.lastError ? { problem: this.explain(index.lastError) } : {}),
        ...(queues.problem ? { queueProblem: queues.problem } : {}),
      });
    });

    app.get('/api/cards', async (request, reply) => {
      const since = Number((request.query as Record<string, unknown>).since ?? 0);
      if (!Number.isSafeInteger(since) || since < 0)
        throw new GalleryRequestError(
          400,
          'BAD_VERSION',
          'since= must be a version number the gallery returned (0 for everything)',
        );
      this.schedule.pageAsked();
      // The first answer also carries the notice that goes with labels from untrained weights.
      return reply
        .header('cache-control', 'no-store')
        .send({ ...index.changesSince(since), ...(since === 0 ? { untrainedNotice: UNTRAINED_NOTICE } : {}) });
    });

    app.get('/api/thumbnail', async (request, reply) => {
      const { key, v } = request.query as Record<string, unknown>;
      // Only images below the gallery's folder: the call cannot read anything else in the bucket.
      if (typeof key !== 'string' || !key.startsWith(root))
        throw new GalleryRequestError(403, 'OUTSIDE_GALLERY', `thumbnails are made only of images below ${root}`);
      const thumbnail = await thumbnails.get(key, typeof v === 'string' ? v : undefined);
      if (!thumbnail) throw new GalleryRequestError(404, 'NO_SUCH_IMAGE', 'the image is not in the bucket (any more)');
      // An image without a thumbnail gets a placeholder and its reason in a header: the page logs no failed load.
      if ('problem' in thumbnail)
        return reply
          .type('image/svg+xml')
          .header('x-thumbnail-problem', thumbnail.problem.code)
          .header('cache-control', 'no-store')
          .send(PLACEHOLDER_SVG);
      const cacheable = typeof v === 'string' && v === thumbnail.etag;
      return reply
        .type('image/webp')
        .header('cache-control', cacheable ? 'private, max-age=31536000, immutable' : 'no-store')
        .send(thumbnail.webp);
    });
  }

  /** Uploads from the page, admitted (see `UploadAdmission`) before their bodies are read, checked, then stored. */
  private uploadRoute(): void {
    const { app, index, options } = this;
    const { target, root, limits } = options;
    const admission = new UploadAdmission({
      maxBytes: limits.maxBytes,
      bufferBytes: options.uploadBufferBytes ?? 4 * limits.maxBytes,
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    });
    const hooks = { onRequest: admission.admit, onResponse: admission.release, onRequestAbort: admission.release };
    app.put('/api/upload', { bodyLimit: limits.maxBytes, ...hooks }, async (request, reply) => {
      if (this.readOnly)
        throw new GalleryRequestError(
          403,
          'READ_ONLY_GALLERY',
          `this gallery shows s3://${this.imagesBucket}/${root}, outside the uploads prefix: images are uploaded only below s3://${target.bucket}/${target.layout.uploadsPrefix}`,
        );
      const query = request.query as Record<string, unknown>;
      const key = galleryUploadKey({
        root,
        uploadsPrefix: target.layout.uploadsPrefix,
        folder: query.folder,
        name: query.name,
      });
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const contentType = await checkUploadBody(body, request.headers['content-type'], limits);
      const stored = await target.s3.send(
        new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentType: contentType }),
      );
      index.recordUpload({ key, etag: normalizeEtag(stored.ETag), size: body.length, lastModified: new Date() });
      options.logger.info({ key, bytes: body.length }, 'gallery upload');
      return reply.code(201).header('cache-control', 'no-store').send({ key });
    });
  }

  private explain(error: Error): string {
    const { target } = this.options;
    return explainAwsError(error, {
      bucket: target.bucket,
      queueUrl: target.queueUrl,
      endpoint: target.endpoint,
      profile: target.profile,
    }).message;
  }

  /** Every refusal and failure as `{ error: { code, message } }` (see `errorReply`). */
  private sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const answer = errorReply(error, this.options.limits.maxBytes, (failure) => this.explain(failure));
    if (answer.failure)
      this.options.logger.warn({ err: error, url: request.url.split('?')[0] }, 'gallery request failed');
    return reply.code(answer.status).header('cache-control', 'no-store').send({ error: answer.body });
  }
}
