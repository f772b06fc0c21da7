import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { pngClaimingSize, svgDrawing, textPretendingToBeAnImage, truncated } from '../helpers/image-factories.js';
import { ORT_TELEMETRY_VARIABLE } from '../../model/runtime-telemetry.js';
import { jsonLines, runCli } from '../helpers/run-cli.js';
import { fixtureImageNames, fixtureImagesDirectory, readFixtureImage } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

describe('alexnet-pipeline classify', () => {
  let badFolder: string;
  const badFiles: Record<string, string> = {};
  before(async () => {
    badFolder = temporaryFolder('alexnet-classify-');
    const write = async (name: string, bytes: Buffer, expectedCode: string) => {
      await writeFile(path.join(badFolder, name), bytes);
      badFiles[path.join(badFolder, name)] = expectedCode;
    };
    await write('empty.jpg', Buffer.alloc(0), 'EMPTY_FILE');
    await write('truncated.jpg', truncated(readFixtureImage('chelsea.jpg')), 'CORRUPT_IMAGE');
    await write('shopping-list.jpg', textPretendingToBeAnImage, 'NOT_AN_IMAGE');
    await write('bomb.png', pngClaimingSize(20000, 20000), 'IMAGE_TOO_LARGE');
    await write('drawing.svg', svgDrawing, 'UNSUPPORTED_FORMAT');
  });

  it('prints one ok line per fixture image, in input order, and exits 0', async () => {
    const run = await runCli(['classify', fixtureImagesDirectory, '--top-k', '3']);
    assert.equal(run.status, 0, run.stderr);
    const lines = jsonLines(run.stdout);
    assert.deepEqual(
      lines.map((l) => path.basename(l.file)),
      fixtureImageNames(),
    );
    for (const line of lines) {
      assert.equal(line.status, 'ok');
      assert.equal(line.labels.length, 3);
      assert.ok(line.labels[0].score >= line.labels[1].score);
      assert.equal(typeof line.labels[0].label, 'string');
      assert.match(line.model.sha256, /^[0-9a-f]{64}$/);
      assert.equal(line.model.pretrained, false);
    }
    assert.match(run.stderr, /UNTRAINED/);
  });

  it('gives every bad input its own error line, keeps going, and exits 2', async () => {
    const good = path.join(fixtureImagesDirectory, 'coffee.jpg');
    const inputs = [...Object.keys(badFiles), good];
    const run = await runCli(['classify', ...inputs, '--batch-size', '2']);
    assert.equal(run.status, 2, run.stderr);
    const lines = jsonLines(run.stdout);
    assert.deepEqual(
      lines.map((l) => l.file),
      inputs,
    );
    for (const line of lines.slice(0, -1)) {
      assert.equal(line.status, 'error', line.file);
      assert.equal(line.error.code, badFiles[line.file], line.file);
      assert.ok(line.error.message.length > 0);
      assert.equal(line.labels, undefined);
    }
    assert.equal(lines.at(-1)!.status, 'ok');
  });

  it('classifies photos named on a command line longer than 28 KB (ONNX Runtime telemetry would crash on it)', async () => {
    // A shell glob over a big folder: 150 files whose paths are about 240 bytes each.
    const folder = path.join(badFolder, 'a-folder-name-as-long-as-a-real-one-can-be-'.repeat(5));
    await mkdir(folder, { recursive: true });
    const files: string[] = [];
    for (let i = 0; i < 150; i++) {
      const file = path.join(folder, `holiday-photo-${String(i).padStart(3, '0')}.jpg`);
      await copyFile(path.join(fixtureImagesDirectory, 'coffee.jpg'), file);
      files.push(file);
    }
    assert.ok(files.join(' ').length > 32_000);
    // As a user's shell would start it: nothing set ORT_DISABLE_TELEMETRY beforehand.
    const run = await runCli(['classify', ...files, '--top-k', '1'], { env: { [ORT_TELEMETRY_VARIABLE]: undefined } });
    assert.equal(run.status, 0, `exit ${run.status} ${run.signal ?? ''}: ${run.stderr.slice(-500)}`);
    assert.equal(jsonLines(run.stdout).filter((line) => line.status === 'ok').length, 150);
  });

  it('writes to --out instead of stdout', async () => {
    const out = path.join(badFolder, 'results.jsonl');
    const run = await runCli(['classify', path.join(fixtureImagesDirectory, 'chelsea.jpg'), '--out', out]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal(jsonLines(await readFile(out, 'utf8')).length, 1);
  });

  for (const [args, option] of [
    [['--top-k', '0'], '--top-k'],
    [['--batch-size', 'many'], '--batch-size'],
    [['--device', 'tpu'], '--device'],
  ] as const) {
    it(`stops with exit 1 and names ${option} when it is invalid`, async () => {
      const run = await runCli(['classify', fixtureImagesDirectory, ...args]);
      assert.equal(run.status, 1);
      assert.match(run.stderr, new RegExp(option));
      assert.equal(run.stdout, '');
    });
  }

  it('names a path that does not exist in one line and exits 1, as upload and local do, before loading the model', async () => {
    const run = await runCli(['classify', path.join(fixtureImagesDirectory, 'coffee.jpg'), 'sample']);
    assert.equal(run.status, 1);
    assert.equal(run.stderr, 'error: sample does not exist\n', 'that line alone: no model was loaded');
    assert.equal(run.stdout, '');
  });

  it('lists the allowed values of --device in --help', async () => {
    const run = await runCli(['classify', '--help']);
    assert.match(
      run.stdout.replace(/\s+/g, ' '),
      /--device <device> where inference runs \(choices: "auto", "cpu", "cuda", default: "auto"\)/,
    );
  });

  it('exits 1 with a one-line message when the model file does not exist', async () => {
    const run = await runCli(['classify', fixtureImagesDirectory, '--model', '/nonexistent/alexnet.onnx']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /model file \/nonexistent\/alexnet.onnx does not exist/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace for a user error');
  });
});
