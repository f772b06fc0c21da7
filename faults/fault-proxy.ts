import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError } from '../common/errors.js';

/** How often each fault happens, per request (0–1), and the added latency. */
export interface FaultRates {
  /** Answered 503 without reaching the emulator. */
  readonly serviceUnavailable: number;
  /** Connection reset before the emulator sees the request. */
  readonly resetBeforeUpstream: number;
  /** Connection reset after the emulator acted: the response is lost. */
  readonly resetAfterUpstream: number;
  /** Each request waits a uniformly random time up to this, ms. */
  readonly maxLatencyMs: number;
}

/** No faults: the proxy only counts. */
export const NO_FAULTS: FaultRates = {
  serviceUnavailable: 0,
  resetBeforeUpstream: 0,
  resetAfterUpstream: 0,
  maxLatencyMs: 0,
};

/** What the proxy saw and did. */
export interface ProxyCounts {
  requests: number;
  serviceUnavailable: number;
  resetsBeforeUpstream: number;
  resetsAfterUpstream: number;
  /** Successful (2xx) PUTs of each result key, as the emulator answered them. */
  readonly resultWrites: Map<string, number>;
}

/**
 * A loopback HTTP proxy in front of the embedded S3 and SQS that injects faults: 503 answers,
 * connections reset before the emulator acts, and — the hard case — connections reset after it
 * acted, so the client retries something that already happened. It forwards requests unchanged
 * (the Host header too, so signatures still verify) and counts result writes per key.
 */
export class FaultProxy {
  readonly counts: ProxyCounts = {
    requests: 0,
    serviceUnavailable: 0,
    resetsBeforeUpstream: 0,
    resetsAfterUpstream: 0,
    resultWrites: new Map(),
  };

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  /** Starts the proxy on 127.0.0.1 in front of `upstream` (an http://127.0.0.1:port endpoint). */
  static async start(
    upstream: string,
    rates: FaultRates,
    random: () => number = Math.random,
    resultsPrefix = 'results/',
  ): Promise<FaultProxy> {
    const target = new URL(upstream);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname))
      throw new ConfigurationError(`the fault proxy only forwards to loopback, not ${upstream}`);
    let proxy!: FaultProxy;
    const server = createServer(
      (incoming, outgoing) => void proxy.handle(incoming, outgoing, target, rates, random, resultsPrefix),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** Faults injected so far, all kinds together. */
  get faultsInjected(): number {
    return this.counts.serviceUnavailable + this.counts.resetsBeforeUpstream + this.counts.resetsAfterUpstream;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Passes an upstream answer back, or loses it (the connection reset after S3 or SQS acted). */
  private async relay(
    response: IncomingMessage,
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    resultsPrefix: string,
    loseResponse: boolean,
  ): Promise<void> {
    const answer = await readAll(response);
    const resultKey = resultKeyOf(incoming, resultsPrefix);
    if (resultKey && response.statusCode !== undefined && response.statusCode < 300)
      this.counts.resultWrites.set(resultKey, (this.counts.resultWrites.get(resultKey) ?? 0) + 1);
    if (loseResponse) {
      this.counts.resetsAfterUpstream++;
      incoming.socket.destroy();
      return;
    }
    outgoing.writeHead(response.statusCode ?? 502, response.headers).end(answer);
  }

  private async handle(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: URL,
    rates: FaultRates,
    random: () => number,
    resultsPrefix: string,
  ): Promise<void> {
    this.counts.requests++;
    const body = await readAll(incoming);
    if (rates.maxLatencyMs > 0) await sleep(random() * rates.maxLatencyMs);
    const roll = random();
    if (roll < rates.serviceUnavailable) {
      this.counts.serviceUnavailable++;
      answerUnavailable(incoming, outgoing);
      return;
    }
    if (roll < rates.serviceUnavailable + rates.resetBeforeUpstream) {
      this.counts.resetsBeforeUpstream++;
      incoming.socket.destroy();
      return;
    }
    const loseResponse = roll < rates.serviceUnavailable + rates.resetBeforeUpstream + rates.resetAfterUpstream;
    const upstream = forward({
      hostname: target.hostname,
      port: target.port,
      method: incoming.method,
      path: incoming.url,
      headers: incoming.headers,
    });
    upstream.on('error', () => incoming.socket.destroy());
    upstream.on(
      'response',
      (response) =>
        void this.relay(response, incoming, outgoing, resultsPrefix, loseResponse).catch(() =>
          incoming.socket.destroy(),
        ),
    );
    upstream.end(body);
  }
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** A 503 in the protocol the client speaks: SQS's JSON protocol, or S3's XML. */
function answerUnavailable(incoming: IncomingMessage, outgoing: ServerResponse): void {
  if (incoming.headers['x-amz-target']) {
    outgoing.writeHead(503, { 'content-type': 'application/x-amz-json-1.0' }).end(
      JSON.stringify({
        __type: 'com.amazonaws.sqs#ServiceUnavailable',
        message: 'fault injected by the fault proxy',
      }),
    );
  } else {
    outgoing
      .writeHead(503, { 'content-type': 'application/xml' })
      .end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>fault injected by the fault proxy</Message></Error>',
      );
  }
}

/** The result key of a PUT below the results prefix (path-style: /bucket/key), else undefined. */
function resultKeyOf(incoming: IncomingMessage, resultsPrefix: string): string | undefined {
  if (incoming.method !== 'PUT') return undefined;
  const path = decodeURIComponent((incoming.url ?? '').split('?')[0] ?? '');
  const key = path.slice(path.indexOf('/', 1) + 1);
  return key.startsWith(resultsPrefix) ? key : undefined;
}
