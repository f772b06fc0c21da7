import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Mutex } from 'async-mutex';
import dynalite from 'dynalite';
import { provisionJobsTable } from './jobs-table.js';
import { transactWriteItems, type CallAnswer } from './transact-write.js';

/** The largest request body the glue reads itself: DynamoDB's limit on one transaction is 4 MB. */
const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;

/**
 * Embedded DynamoDB: dynalite (DynamoDB's JSON API on an in-memory LevelDB, on its own loopback
 * port) behind a handler that adds what the pipeline needs and dynalite lacks —
 * `TransactWriteItems` (see transact-write.ts). `LocalAws` hands it the DynamoDB requests of its
 * one endpoint, after its own credential check, so S3, SQS and DynamoDB share `AWS_ENDPOINT_URL`.
 * Requests take turns (one lock for the whole emulator), so a transaction is isolated from every
 * other request; the job state's traffic is a few requests per image, which one lock serves.
 */
export class LocalDynamoDb {
  private readonly lock = new Mutex();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  private constructor(
    private readonly inner: http.Server,
    private readonly innerPort: number,
  ) {}

  /** dynalite on a loopback port of its own, with the jobs table (`tableName`) made. */
  static async start(tableName: string): Promise<LocalDynamoDb> {
    const inner = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      inner.once('error', reject);
      inner.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (inner.address() as AddressInfo).port;
    // dynalite checks that requests are signed, not by whom.
    await provisionJobsTable(
      {
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      },
      tableName,
    );
    return new LocalDynamoDb(inner, port);
  }

  /** Serves one DynamoDB request (its body not yet read) and answers it. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    return this.lock.runExclusive(async () => {
      if (request.headers['x-amz-target'] !== 'DynamoDB_20120810.TransactWriteItems')
        return forward(this.innerPort, this.agent, request, response);
      const input = await readJson(request);
      const call = (operation: string, body: Record<string, unknown>) =>
        callInner(this.innerPort, this.agent, request, operation, body);
      reply(response, input ? await transactWriteItems(input, call) : tooLarge());
    });
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.inner.closeAllConnections();
    await new Promise<void>((resolve) => this.inner.close(() => resolve()));
  }
}

/** A request passed to dynalite as it came, and its answer back, while the lock is held. */
function forward(port: number, agent: http.Agent, request: IncomingMessage, response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const upstream = http.request(
      { host: '127.0.0.1', port, method: request.method, path: request.url, headers: request.headers, agent },
      (answer) => {
        response.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(response);
        answer.on('end', resolve);
        answer.on('error', resolve);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent)
        reply(response, { status: 500, body: { __type: 'InternalFailure', message: 'the embedded DynamoDB failed' } });
      resolve();
    });
    response.on('close', resolve);
    request.pipe(upstream);
  });
}

/** One of the glue's own single-item calls, signed as the request it serves was (dynalite checks the form only). */
function callInner(
  port: number,
  agent: http.Agent,
  original: IncomingMessage,
  operation: string,
  body: Record<string, unknown>,
): Promise<CallAnswer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(payload),
          'x-amz-target': `DynamoDB_20120810.${operation}`,
          'x-amz-date': original.headers['x-amz-date'] ?? '',
          authorization: original.headers.authorization ?? '',
        },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: answer.statusCode ?? 500, body: text ? (JSON.parse(text) as Record<string, any>) : {} });
        });
        answer.on('error', reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(payload);
  });
}

/** A JSON request body up to {@link MAX_TRANSACTION_BYTES}; undefined when it is larger. */
async function readJson(request: IncomingMessage): Promise<Record<string, any> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_TRANSACTION_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any>;
  } catch {
    return {};
  }
}

function tooLarge(): CallAnswer {
  return {
    status: 400,
    body: {
      __type: 'com.amazon.coral.validate#ValidationException',
      message: `the transaction is larger than DynamoDB's ${MAX_TRANSACTION_BYTES / 2 ** 20} MB`,
    },
  };
}

function reply(response: ServerResponse, answer: CallAnswer): void {
  const text = JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
  });
  response.end(text);
}
