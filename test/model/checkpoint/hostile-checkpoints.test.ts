import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { CheckpointError } from '../../../model/checkpoint/checkpoint-errors.js';
import { openTorchCheckpoint } from '../../../model/checkpoint/torch-checkpoint.js';
import { hostileCheckpoints } from '../../helpers/hostile-checkpoints.js';
import { runCli } from '../../helpers/run-cli.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';

/** What each hostile checkpoint gets: a CheckpointError whose one line says what is wrong. */
const EXPECTED: Record<string, RegExp> = {
  'zip-pickle-of-64-mib-marks': /archive\/data\.pkl has 67108864 bytes, more than expected/,
  'zip-pickle-of-7-mib-marks': /its stack grows past 100000 values, which no state_dict needs/,
  'zip-storage-bigger-than-declared':
    /archive\/data\/0 has 67108864 bytes, but its storage declares 2 float32 elements \(8 bytes\)/,
  'zip-storage-far-larger-than-its-tensor': /the storage of w declares 600000000 elements where its tensors reach 2/,
  'appends-of-500k-items': /its stack grows past 100000 values/,
  'memoize-1.1m-times': /its memo grows past 1000000 entries/,
  'binunicode8-of-2-to-the-40': /a string of 1099511627776 bytes, more than the 1000000/,
  'legacy-first-pickle-none': /its first pickle is None, not the magic number/,
  'legacy-first-pickle-text': /its first pickle is the text "hello", not the magic number/,
  'legacy-first-pickle-float': /its first pickle is the number 3\.14159\d*, not the magic number/,
  'legacy-first-pickle-dict': /its first pickle is a dict, not the magic number/,
  'legacy-protocol-as-text': /the legacy checkpoint's protocol is the text "1001"; only the number 1001 is read/,
  'legacy-view-at-offset-minus-1': /a storage view that is not inside its storage \(offset -1, size 2, storage of 2\)/,
};

describe('hostile checkpoints: one line each, bounded memory, nothing written', () => {
  let folder: string;
  const files: Record<string, string> = {};
  before(async () => {
    folder = temporaryFolder('alexnet-hostile-');
    for (const [name, bytes] of Object.entries(hostileCheckpoints())) {
      files[name] = path.join(folder, `${name}.pth`);
      await writeFile(files[name]!, bytes);
    }
  });

  it('has an expectation for every hostile file', () => {
    assert.deepEqual(Object.keys(files).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [name, message] of Object.entries(EXPECTED)) {
    it(`refuses ${name}`, async () => {
      await assert.rejects(
        (async () => {
          const checkpoint = await openTorchCheckpoint(files[name]!);
          try {
            for (const record of checkpoint.tensors.values()) await checkpoint.readStorage(record.storage);
          } finally {
            await checkpoint.close();
          }
        })(),
        (error: unknown) => {
          assert.ok(error instanceof CheckpointError, `a CheckpointError, not ${String(error)}`);
          assert.match(error.message, message);
          assert.doesNotMatch(error.message, /\n/);
          return true;
        },
      );
    });
  }

  it('model convert says what is wrong in one line, exits 1 and writes nothing', async () => {
    for (const name of [
      'zip-pickle-of-7-mib-marks',
      'legacy-first-pickle-none',
      'zip-storage-far-larger-than-its-tensor',
    ]) {
      const out = path.join(folder, `${name}.onnx`);
      const run = await runCli(['model', 'convert', files[name]!, '--out', out]);
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, new RegExp(`^error: .*${EXPECTED[name]!.source}.*; nothing was written\\n$`));
      assert.doesNotMatch(run.stderr, /unexpected failure|\n\s+at /);
      assert.equal(existsSync(out), false);
    }
  });
});
