import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Browser, Page } from 'playwright-core';
import { readResult } from '../../../cli/results/bucket-reader.js';
import { SAMPLE_IMAGES_FOLDER } from '../../../cli/local/run-local.js';
import { createS3Client } from '../../../common/aws-clients.js';
import { startLocalServe, type LocalServeProcess } from '../../../local/local-serve-process.js';
import { resultKeyFor, DEFAULT_KEY_LAYOUT } from '../../../pipeline/object-keys.js';
import { findChromium, launchChromium } from '../../helpers/browser.js';
import { truncated } from '../../helpers/image-factories.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';
import { readFileSync } from 'node:fs';
import pLimit from 'p-limit';
import { GalleryServer } from '../../../cli/gallery/gallery-server.js';
import { startGallery } from '../../../cli/gallery/start-gallery.js';
import { resultDocument } from '../../helpers/result-documents.js';
import { localTarget } from '../../../cli/target/target.js';
import { silentLogger } from '../../../common/logger.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';

// The callbacks given to page.evaluate run in the browser; this project compiles without the DOM's types.
declare const document: any;

const chromium = findChromium();
if (!chromium.executable) console.log(`# skipping the gallery's browser tests: ${chromium.reason}`);

/** A file name that is also HTML: were it parsed, it would set a mark on the page. */
const HTML_NAME = '<img src=x onerror=document.body.dataset.pwned=1>.jpg';

describe(
  'gallery in a real browser (Chromium) against local --serve',
  { skip: chromium.executable ? false : chromium.reason },
  () => {
    let serve: LocalServeProcess;
    let browser: Browser;
    let page: Page;
    let galleryUrl: string;
    let s3: S3Client;
    let bucket: string;
    let folder: string;
    /** Everything the page reported as an error: console errors, uncaught exceptions, failed requests. */
    const pageErrors: string[] = [];

    before(async () => {
      folder = temporaryFolder('alexnet-gallery-');
      const images = path.join(folder, 'images');
      await mkdir(path.join(images, 'cats'), { recursive: true });
      const cat = path.join(SAMPLE_IMAGES_FOLDER, 'chelsea.jpg');
      await copyFile(cat, path.join(images, 'cats', 'chelsea.jpg'));
      await copyFile(path.join(SAMPLE_IMAGES_FOLDER, 'coffee.jpg'), path.join(images, 'coffee.jpg'));
      await copyFile(cat, path.join(images, HTML_NAME));
      await writeFile(path.join(images, 'broken.jpg'), truncated(readFileSync(cat), 0.02));
      serve = await startLocalServe([images], { ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json') });
      galleryUrl = /^Gallery: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)$/m.exec(serve.banner)?.[1] ?? '';
      assert.ok(galleryUrl, `local --serve prints the gallery's URL:\n${serve.banner}`);
      const env = serve.environment;
      bucket = env.BUCKET_NAME!;
      s3 = createS3Client({
        endpoint: env.AWS_ENDPOINT_URL,
        region: env.AWS_REGION,
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
      });
      browser = await launchChromium(chromium.executable!);
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => pageErrors.push(`uncaught: ${error.message}`));
      page.on('requestfailed', (request) =>
        pageErrors.push(`request failed: ${request.url()} ${request.failure()?.errorText}`),
      );
      await page.goto(galleryUrl);
    });
    after(async () => {
      try {
        await browser?.close();
        s3?.destroy();
      } finally {
        await serve?.stop();
      }
    });

    /** The card of `key` as the page shows it. */
    const card = (key: string) =>
      page.evaluate((wanted) => {
        const node = [...document.querySelectorAll('.card')].find((element: any) => element.dataset.key === wanted);
        if (!node) return undefined;
        return {
          status: node.dataset.status,
          name: node.querySelector('h2')?.textContent,
          labels: [...node.querySelectorAll('.labels li')].map((item: any) => [
            item.querySelector('.label')?.textContent,
            item.querySelector('.score')?.textContent,
          ]),
          errorCode: node.querySelector('.error-code')?.textContent,
          untrained: node.querySelector('.untrained') !== null,
          processed: node.querySelector('time')?.getAttribute('datetime'),
        };
      }, key);

    const waitForStatus = (key: string, statuses: string[], timeout = 60_000) =>
      page.waitForFunction(
        ([wanted, accepted]) =>
          [...document.querySelectorAll('.card')].some(
            (node: any) => node.dataset.key === wanted && (accepted as string[]).includes(node.dataset.status!),
          ),
        [key, statuses] as const,
        { timeout },
      );

    it('shows every image; cards reach ok or error with the labels and error the stored results hold', async () => {
      const keys = ['uploads/cats/chelsea.jpg', 'uploads/coffee.jpg', `uploads/${HTML_NAME}`, 'uploads/broken.jpg'];
      for (const key of keys) await waitForStatus(key, ['ok', 'error']);
      for (const key of keys) {
        const stored = await readResult(s3, bucket, resultKeyFor(key, DEFAULT_KEY_LAYOUT));
        assert.ok(stored, `${key} has a stored result`);
        const shown = (await card(key))!;
        assert.equal(shown.status, stored.status, key);
        assert.equal(shown.processed, stored.processedAt);
        if (stored.status === 'ok') {
          assert.deepEqual(
            shown.labels,
            stored.labels.map((entry) => [entry.label, entry.score.toFixed(3)]),
            key,
          );
          assert.equal(shown.labels.length, 5);
          assert.equal(shown.untrained, !stored.model.pretrained);
        } else {
          assert.equal(shown.errorCode, stored.error.code);
        }
      }
      assert.equal((await card('uploads/broken.jpg'))!.status, 'error', 'a broken image is an error card');
      assert.equal(
        await page.locator('#untrained-notice').isVisible(),
        true,
        'the untrained-weights notice shows where labels show',
      );
      assert.match((await page.locator('#untrained-notice').textContent())!, /UNTRAINED weights/);
      await page.waitForFunction(() => document.querySelector('[data-count="done"]')?.textContent === '4');
      assert.equal(await page.locator('[data-count="errors"]').textContent(), '1');
      assert.equal(await page.locator('[data-count="dlq"]').textContent(), '0');
    });

    it('renders a key that holds HTML as text', async () => {
      const shown = await card(`uploads/${HTML_NAME}`);
      assert.equal(shown?.name, HTML_NAME);
      assert.equal(
        await page.evaluate(() => document.body.dataset.pwned),
        undefined,
        'the markup in the key did not run',
      );
      assert.equal(await page.locator('.card img:not(.thumb)').count(), 0, 'no element was made from the key');
    });

    it('filters by label text, status and folder', async () => {
      await page.locator('#filter-status').selectOption('error');
      await page.waitForFunction(() => document.querySelectorAll('.card').length === 1);
      assert.equal(await page.locator('.card').getAttribute('data-key'), 'uploads/broken.jpg');
      await page.locator('#filter-status').selectOption('');
      await page.locator('#filter-folder').selectOption('cats/');
      await page.waitForFunction(() => document.querySelectorAll('.card').length === 1);
      assert.equal(await page.locator('.card').getAttribute('data-key'), 'uploads/cats/chelsea.jpg');
      await page.locator('#filter-folder').selectOption('');
      await page.waitForFunction(() => document.querySelectorAll('.card').length === 4);
      const label = (await card('uploads/coffee.jpg'))!.labels[0]![0]!;
      await page.locator('#filter-text').fill(label.toUpperCase());
      // Case does not matter; every card left carries the label (cards without it are gone).
      await page.waitForFunction((text) => {
        const cards = [...document.querySelectorAll('.card')];
        return cards.length >= 1 && cards.every((node: any) => node.textContent.toLowerCase().includes(text));
      }, label.toLowerCase());
      await page.locator('#filter-text').fill('no label is called this');
      await page.waitForFunction(() => document.querySelectorAll('.card').length === 0);
      await page.locator('#filter-text').fill('');
      await page.waitForFunction(() => document.querySelectorAll('.card').length === 4);
    });

    it('uploads through the file input into the chosen folder, with progress, and shows the result live', async () => {
      const file = path.join(folder, 'live-upload.jpg');
      await copyFile(path.join(SAMPLE_IMAGES_FOLDER, 'coffee.jpg'), file);
      await page.locator('#filter-folder').selectOption('cats/');
      await page.locator('input[type=file]').setInputFiles(file);
      const row = page.locator('#upload-list li[data-file="live-upload.jpg"]');
      await row
        .locator('.upload-status', { hasText: 'uploaded as uploads/cats/live-upload.jpg' })
        .waitFor({ timeout: 20_000 });
      assert.equal(await row.locator('progress').evaluate((node) => (node as any).value), 1);
      // No reload: the card appears, pending or already done, then reaches ok.
      await waitForStatus('uploads/cats/live-upload.jpg', ['pending', 'ok'], 10_000);
      await waitForStatus('uploads/cats/live-upload.jpg', ['ok'], 60_000);
      const stored = await readResult(s3, bucket, 'results/cats/live-upload.jpg.json');
      assert.equal(
        (await card('uploads/cats/live-upload.jpg'))!.labels[0]![0],
        stored?.status === 'ok' ? stored.labels[0]!.label : 'not ok',
      );
      await page.locator('#filter-folder').selectOption('');
    });

    it('checks type and size before uploading, and says why a file was not sent', async () => {
      const text = path.join(folder, 'notes.txt');
      await writeFile(text, 'not an image');
      await page.locator('input[type=file]').setInputFiles(text);
      const status = page.locator('#upload-list li[data-file="notes.txt"] .upload-status');
      await status.waitFor();
      assert.match((await status.textContent())!, /^not uploaded: not an image the pipeline reads/);
    });

    it('refuses data calls without the token, and the page without it says what to open', async () => {
      const origin = new URL(galleryUrl).origin;
      const other = await browser.newPage();
      try {
        await other.goto(`${origin}/`);
        await other.locator('#problem', { hasText: 'needs the gallery token' }).waitFor();
        assert.equal(await other.locator('.card').count(), 0);
        const statuses = await other.evaluate(async () => [
          (await fetch('/api/cards?since=0')).status,
          (await fetch('/api/summary', { headers: { authorization: 'Bearer wrong' } })).status,
          (await fetch('/api/thumbnail?key=uploads/coffee.jpg&token=wrong')).status,
          (
            await fetch('/api/upload?folder=&name=x.jpg', {
              method: 'PUT',
              body: 'x',
              headers: { 'content-type': 'image/jpeg' },
            })
          ).status,
        ]);
        assert.deepEqual(statuses, [401, 403, 403, 401]);
      } finally {
        await other.close();
      }
    });

    it('logged no errors on the page through all of the above', () => {
      assert.deepEqual(pageErrors, []);
    });
  },
);

describe(
  'gallery grid with many images (Chromium, in-process server)',
  { skip: chromium.executable ? false : chromium.reason },
  () => {
    const COUNT = 600;
    let pipeline: LocalPipeline;
    let server: GalleryServer;
    let browser: Browser;

    before(async () => {
      pipeline = await LocalPipeline.start();
      const limit = pLimit(16);
      await Promise.all(
        Array.from({ length: COUNT }, (_, i) =>
          limit(() => pipeline.upload(`uploads/many/${String(i).padStart(4, '0')}.jpg`, `bytes ${i}`)),
        ),
      );
      const target = localTarget({ ...pipeline.aws.connection(), layout: DEFAULT_KEY_LAYOUT });
      server = await GalleryServer.start({
        target,
        root: 'uploads/',
        port: 0,
        logger: silentLogger,
        limits: { maxBytes: 1_000_000, maxPixels: 1_000_000 },
      });
      browser = await launchChromium(chromium.executable!);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      await pipeline?.aws.stop();
    });

    it('keeps only the rows in view in the document, and scrolls to the last image', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(server.url);
      await page.waitForFunction(
        (count) => document.querySelector('#shown')?.textContent === `${count} of ${count} shown`,
        COUNT,
      );
      const inView = await page.locator('.card').count();
      assert.ok(inView > 0 && inView <= 60, `${inView} card elements for ${COUNT} images`);
      await page.evaluate(() => {
        const grid = document.getElementById('grid');
        grid.scrollTop = grid.scrollHeight;
      });
      await page.waitForFunction(
        (key) => [...document.querySelectorAll('.card')].some((node: any) => node.dataset.key === key),
        `uploads/many/${String(COUNT - 1).padStart(4, '0')}.jpg`,
      );
      assert.ok((await page.locator('.card').count()) <= 60);
      assert.equal(
        await page.locator('.card[data-key="uploads/many/0000.jpg"]').count(),
        0,
        'the first row left the document',
      );
      await page.close();
    });
  },
);

describe(
  'gallery of a source bucket, read-only (Chromium, in-process server)',
  { skip: chromium.executable ? false : chromium.reason },
  () => {
    let pipeline: LocalPipeline;
    let server: GalleryServer;
    let browser: Browser;
    const jpeg = readFileSync(path.join(SAMPLE_IMAGES_FOLDER, 'chelsea.jpg'));

    before(async () => {
      pipeline = await LocalPipeline.start({ sourceBuckets: ['my-archive'] });
      for (const key of ['photos/labelled.jpg', 'photos/waiting.jpg'])
        await pipeline.s3.send(new PutObjectCommand({ Bucket: 'my-archive', Key: key, Body: jpeg }));
      const { ETag } = await pipeline.s3.send(
        new HeadObjectCommand({ Bucket: 'my-archive', Key: 'photos/labelled.jpg' }),
      );
      const base = resultDocument('photos/labelled.jpg', { labels: [['tabby', 0.6]] });
      // Where the worker stores the result of an image of another bucket (`placeResult`).
      await pipeline.upload(
        'results/_buckets/my-archive/photos/labelled.jpg.json',
        JSON.stringify({
          ...base,
          source: { ...base.source, bucket: 'my-archive', etag: ETag!.replace(/"/g, ''), size: jpeg.length },
        }),
      );
      const target = localTarget({ ...pipeline.aws.connection(), layout: DEFAULT_KEY_LAYOUT });
      await assert.rejects(
        startGallery(target, { port: 0, folder: 's3://not-a-source/photos/', logger: silentLogger }),
        /names bucket not-a-source, which is neither the pipeline's bucket .* nor one of its source buckets \(my-archive\)/,
      );
      await assert.rejects(
        startGallery(target, { port: 0, folder: 's3://my-archive/photos/labelled.jpg', logger: silentLogger }),
        /is not a folder: end it with "\/"/,
      );
      ({ server } = await startGallery(target, { port: 0, folder: 's3://my-archive/photos/', logger: silentLogger }));
      browser = await launchChromium(chromium.executable!);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      await pipeline?.aws.stop();
    });

    it('shows the images of the other bucket with their results and thumbnails, and offers no upload', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(server.url);
      await page.waitForFunction(() => document.querySelector('#shown')?.textContent === '2 of 2 shown');
      await page.waitForFunction(
        () => document.querySelector('.card[data-key="photos/labelled.jpg"]')?.dataset.status === 'ok',
      );
      assert.equal(
        await page.locator('.card[data-key="photos/labelled.jpg"] .labels .label').first().textContent(),
        'tabby',
      );
      assert.equal(await page.locator('.card[data-key="photos/waiting.jpg"]').getAttribute('data-status'), 'pending');
      assert.match((await page.locator('#target').textContent()) ?? '', /s3:\/\/my-archive\/photos\/$/);
      await page.waitForFunction(() =>
        [...document.querySelectorAll('.card img')].every((image: any) => image.complete && image.naturalWidth > 0),
      );
      assert.equal(
        await page.locator('#upload').isVisible(),
        false,
        'no upload control for a bucket the stack does not own',
      );
      const refused = await page.evaluate(async (token) => {
        const answer = await fetch('/api/upload?folder=&name=new.jpg', {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
          body: new Uint8Array([0xff, 0xd8, 0xff]),
        });
        return { status: answer.status, body: (await answer.json()) as { error?: { code?: string } } };
      }, server.token);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error?.code, 'READ_ONLY_GALLERY');
      const listed = await pipeline.s3.send(new ListObjectsV2Command({ Bucket: 'my-archive' }));
      assert.equal(listed.KeyCount, 2, 'nothing written to the other bucket');
      await page.close();
    });
  },
);
