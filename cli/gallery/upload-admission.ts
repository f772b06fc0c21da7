import type { FastifyReply, FastifyRequest } from 'fastify';
import { GalleryRequestError } from './gallery-errors.js';

/**
 * Admits an upload before a byte of its body is read: its length must be declared, fit the limit
 * (the route's body limit refuses a larger one with 413) and fit what all uploads under way may
 * hold in memory; the bytes are counted until the answer is sent. A body that stops coming for
 * `idleTimeoutMs`, or one refused here and never sent, has its connection closed.
 */
export class UploadAdmission {
  private held = 0;
  private readonly heldByRequest = new WeakMap<FastifyRequest, number>();

  constructor(
    private readonly options: {
      readonly maxBytes: number;
      readonly bufferBytes: number;
      readonly idleTimeoutMs: number;
    },
  ) {}

  /** Bytes of upload bodies admitted and not yet answered. */
  get heldBytes(): number {
    return this.held;
  }

  readonly admit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const socket = request.raw.socket;
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.once('timeout', () => socket.destroy());
    reply.header('connection', 'close');
    const declared = Number(request.headers['content-length']);
    if (request.headers['content-length'] === undefined || !Number.isSafeInteger(declared) || declared < 0)
      throw new GalleryRequestError(411, 'LENGTH_REQUIRED', 'an upload must say its length (Content-Length)');
    if (declared > this.options.maxBytes) return; // the route's body limit answers 413
    if (this.held + declared > this.options.bufferBytes)
      throw new GalleryRequestError(
        503,
        'UPLOADS_BUSY',
        `the gallery is receiving ${this.held} bytes of uploads already: try this one again in a moment`,
      );
    this.held += declared;
    this.heldByRequest.set(request, declared);
  };

  readonly release = async (request: FastifyRequest): Promise<void> => {
    this.held -= this.heldByRequest.get(request) ?? 0;
    this.heldByRequest.delete(request);
    request.raw.socket?.setTimeout(0);
  };
}
