import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { createS3Client } from '../common/aws-clients.js';
import { endWithThisProcess } from '../common/child-processes.js';
import { cliEntry, startLocalServe } from '../local/local-serve-process.js';
import { DEFAULT_KEY_LAYOUT, resultKeyFor } from '../pipeline/object-keys.js';
import { buildResult, normalizeEtag } from '../pipeline/result-document.js';

/**
 * `npm run bench:gallery`: the gallery in Debian's Chromium against `local --serve --no-worker`,
 * a new `alexnet-pipeline gallery` process for each size, as a user runs it:
 *  - 1,000 results: time from starting the command to a usable grid (first card drawn, all counted);
 *  - 10,000 results: the same, then frame times while scrolling (steadily, a fast fling, and the
 *    whole grid in four seconds) against an idle page's, and how many cards the document holds
 *    (virtual scrolling keeps it to the rows in view);
 *  - live updates: images uploaded through the gallery, their results written to S3, and the time
 *    until each card turns ok in the browser without a reload.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const SMALL = Number(process.env.BENCH_GALLERY_SMALL ?? 1_000);
const LARGE = Number(process.env.BENCH_GALLERY_LARGE ?? 10_000);
const LIVE = Number(process.env.BENCH_GALLERY_LIVE ?? 5);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LABELS = ['tabby', 'tiger cat', 'Egyptian cat', 'beagle', 'golden retriever', 'espresso', 'space shuttle'];

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function tinyJpeg(seed: number): Promise<Buffer> {
  return sharp({
    create: {
      width: 96,
      height: 64,
      channels: 3,
      background: { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 13) % 256 },
    },
  })
    .jpeg()
    .toBuffer();
}

/** Uploads `count` images below `folder` and, for each, a result that names the upload's ETag. */
async function storeImagesWithResults(
  s3: S3Client,
  bucket: string,
  folder: string,
  count: number,
  withResults = true,
): Promise<string[]> {
  const limit = pLimit(32);
  const image = await tinyJpeg(count);
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      limit(async () => {
        const key = `${DEFAULT_KEY_LAYOUT.uploadsPrefix}${folder}${String(i).padStart(5, '0')}.jpg`;
        const stored = await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: image, ContentType: 'image/jpeg' }),
        );
        if (withResults) await storeResult(s3, bucket, key, normalizeEtag(stored.ETag), i);
        return key;
      }),
    ),
  );
}

async function storeResult(s3: S3Client, bucket: string, key: string, etag: string, i: number): Promise<void> {
  const labels = [0, 1, 2, 3, 4].map((rank) => ({
    index: 281 + rank,
    label: LABELS[(i + rank) % LABELS.length]!,
    score: 0.5 / (rank + 1),
  }));
  const document = buildResult(
    { source: { bucket, key, etag, size: 1000 } },
    {
      outcome: { status: 'ok', labels },
      model: { sha256: '0'.repeat(64), weights: 'bench', pretrained: true, precision: 'fp32' as const },
      fingerprint: 'f'.repeat(32),
      device: 'cpu',
      timings: { preprocessMs: 5, inferenceMs: 20, batchSize: 32 },
      processedAt: new Date(),
    },
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: resultKeyFor(key, DEFAULT_KEY_LAYOUT),
      Body: JSON.stringify(document),
      ContentType: 'application/json',
    }),
  );
}

/** Starts `alexnet-pipeline gallery` and resolves with its URL and the time it took to print it. */
async function startGallery(
  env: NodeJS.ProcessEnv,
  extra: string[],
): Promise<{ child: ChildProcess; url: string; started: number; printedMs: number }> {
  const started = performance.now();
  const child = endWithThisProcess(
    spawn(process.execPath, [cliEntry, 'gallery', ...extra], { env, stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  let output = '';
  child.stdout!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const match = /^Gallery: (\S+)$/m.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`gallery exited with ${code}: ${output}`)));
  });
  return { child, url, started, printedMs: performance.now() - started };
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGINT');
  await once(child, 'exit');
}

/** From the command's start: the first ok card drawn, and every card in the grid (filters then see them all). */
async function timeToUsable(
  page: Page,
  url: string,
  started: number,
  expected: number,
): Promise<{ firstCardMs: number; allMs: number; pageLoadedMs: number }> {
  await page.goto(url);
  const pageLoadedMs = performance.now() - started;
  await page.waitForSelector('.card[data-status="ok"]', { timeout: 120_000 });
  const firstCardMs = performance.now() - started;
  await page.waitForFunction(
    (count) => document.querySelector('#shown')?.textContent === `${count} of ${count} shown`,
    expected,
    { timeout: 120_000, polling: 50 },
  );
  return { firstCardMs, allMs: performance.now() - started, pageLoadedMs };
}

// The callbacks given to page.evaluate run in the browser; this project compiles without the DOM's types.
declare const document: any;
declare function requestAnimationFrame(callback: (time: number) => void): number;

/**
 * Scrolls the grid from the top by `stride` px a frame (the whole way in `frames` frames when
 * `stride` is 'all'); frame times and the most cards the document held.
 */
function scrollFrames(
  page: Page,
  frames: number,
  stride: number | 'all',
): Promise<{ frames: number[]; maxCards: number; height: number; strideUsed: number }> {
  return page.evaluate(
    ([count, wanted]) =>
      new Promise((resolve) => {
        const grid = document.getElementById('grid');
        grid.scrollTop = 0;
        const step = wanted === 'all' ? (grid.scrollHeight - grid.clientHeight) / count : (wanted as number);
        const times: number[] = [];
        let maxCards = 0;
        let last = 0;
        let done = 0;
        const frame = (time: number) => {
          if (last) times.push(time - last);
          last = time;
          maxCards = Math.max(maxCards, grid.querySelectorAll('.card').length);
          if (done++ >= (count as number))
            return resolve({ frames: times, maxCards, height: grid.scrollHeight, strideUsed: step });
          grid.scrollTop = Math.round(done * step);
          requestAnimationFrame(frame);
        };
        requestAnimationFrame(frame);
      }),
    [frames, stride] as const,
  );
}

/** Frame times of the page doing nothing: what this machine's headless Chromium gives at best. */
function idleFrames(page: Page, count: number): Promise<number[]> {
  return page.evaluate(
    (wanted) =>
      new Promise((resolve) => {
        const frames: number[] = [];
        let last = 0;
        const frame = (time: number) => {
          if (last) frames.push(time - last);
          last = time;
          if (frames.length >= wanted) return resolve(frames);
          requestAnimationFrame(frame);
        };
        requestAnimationFrame(frame);
      }),
    count,
  );
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

if (!existsSync(CHROMIUM)) {
  console.error(
    `npm run bench:gallery needs Chromium: no ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
  process.exit(1);
}
const folder = await mkdtemp(path.join(tmpdir(), 'alexnet-gallery-bench-'));
const env = { ...process.env, ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json'), LOG_LEVEL: 'warn' };
const serve = await startLocalServe(['--no-worker'], env);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const e = serve.environment;
  const galleryEnv = { ...env, ...e, LOG_LEVEL: process.env.BENCH_GALLERY_LOG_LEVEL ?? 'warn' };
  const s3 = createS3Client({
    endpoint: e.AWS_ENDPOINT_URL!,
    region: e.AWS_REGION!,
    credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID!, secretAccessKey: e.AWS_SECRET_ACCESS_KEY! },
  });
  console.log(`Chromium ${browser.version()}, Node ${process.version}; viewport 1280×900`);

  let putStarted = performance.now();
  await storeImagesWithResults(s3, e.BUCKET_NAME!, 'a/', SMALL);
  console.log(`${SMALL} images and results stored in ${seconds(performance.now() - putStarted)}`);
  // The browser is open with a blank tab, as a user's is; the clock starts with the command.
  let page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  let gallery = await startGallery(galleryEnv, ['--prefix', 'a/']);
  const small = await timeToUsable(page, gallery.url, gallery.started, SMALL);
  console.log(
    `${SMALL} results: URL printed after ${seconds(gallery.printedMs)}; page loaded after ${seconds(small.pageLoadedMs)}; first card drawn after ${seconds(small.firstCardMs)}; all ${SMALL} in the grid (filterable) after ${seconds(small.allMs)} (goal ≤ 2 s usable: ${small.firstCardMs <= 2000 ? 'met' : 'NOT met'})`,
  );
  await page.close();
  await stop(gallery.child);

  putStarted = performance.now();
  await storeImagesWithResults(s3, e.BUCKET_NAME!, 'b/', LARGE - SMALL);
  console.log(`${LARGE - SMALL} more images and results stored in ${seconds(performance.now() - putStarted)}`);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  gallery = await startGallery(galleryEnv, []);
  const large = await timeToUsable(page, gallery.url, gallery.started, LARGE);
  console.log(
    `${LARGE} results: first card drawn after ${seconds(large.firstCardMs)}; all ${LARGE} in the grid after ${seconds(large.allMs)}`,
  );
  const idle = await idleFrames(page, 120);
  console.log(
    `idle page for comparison: frame time median ${percentile(idle, 50).toFixed(1)} ms, p95 ${percentile(idle, 95).toFixed(1)} ms`,
  );
  for (const [label, stride] of [
    ['a steady scroll, 200 px a frame (12,000 px/s)', 200],
    ['a fast fling, 800 px a frame (48,000 px/s)', 800],
    [`all ${LARGE} cards in 240 frames (4 s)`, 'all'],
  ] as const) {
    const scroll = await scrollFrames(page, 240, stride);
    console.log(
      `scrolling the ${LARGE}-card grid (${(scroll.height / 1000).toFixed(0)} k px), ${label}: frame time median ${percentile(scroll.frames, 50).toFixed(1)} ms, p95 ${percentile(scroll.frames, 95).toFixed(1)} ms, max ${Math.max(...scroll.frames).toFixed(1)} ms (${Math.round(scroll.strideUsed)} px a frame); at most ${scroll.maxCards} card elements in the document`,
    );
  }

  const token = new URL(gallery.url).searchParams.get('token')!;
  const origin = new URL(gallery.url).origin;
  const image = await tinyJpeg(7);
  const latencies: number[] = [];
  await page.evaluate(() => (document.getElementById('grid').scrollTop = 0));
  await page.locator('#filter-folder').selectOption('');
  await page.locator('#filter-text').fill('live-');
  for (let i = 0; i < LIVE; i += 1) {
    const name = `live-${i}.jpg`;
    const response = await fetch(`${origin}/api/upload?folder=&name=${name}`, {
      method: 'PUT',
      body: image,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
    });
    if (response.status !== 201) throw new Error(`upload refused: ${await response.text()}`);
    const key = `uploads/${name}`;
    await page.waitForSelector(`.card[data-key="${key}"][data-status="pending"]`, { timeout: 10_000 });
    const head = await s3.send(new HeadObjectCommand({ Bucket: e.BUCKET_NAME, Key: key }));
    const written = performance.now();
    await storeResult(s3, e.BUCKET_NAME!, key, normalizeEtag(head.ETag), i);
    await page.waitForSelector(`.card[data-key="${key}"][data-status="ok"]`, { timeout: 30_000 });
    latencies.push(performance.now() - written);
  }
  const summary = (await (
    await fetch(`${origin}/api/summary`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as { listings: number };
  console.log(
    `live: ${LIVE} results written while the page was open reached their cards after ${latencies.map((ms) => seconds(ms)).join(', ')} (max ${seconds(Math.max(...latencies))}; goal ≤ 2 s: ${Math.max(...latencies) <= 2000 ? 'met' : 'NOT met'}); the ${LARGE}-image folder was listed ${summary.listings} times in ${seconds(performance.now() - gallery.started)}`,
  );
  await page.close();
  await stop(gallery.child);
  s3.destroy();
} finally {
  await browser.close();
  await serve.stop();
  await rm(folder, { recursive: true, force: true });
}
