import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cliEntry } from '../local/local-serve-process.js';
import { alexNetCheckpoint } from '../test/helpers/alexnet-checkpoint.js';
import { hostileCheckpoints } from '../test/helpers/hostile-checkpoints.js';

/**
 * npm run bench:checkpoints — the peak memory (max RSS) and time of `model convert`, as a user runs
 * it, on a checkpoint of the real size (torchvision AlexNet's shapes, 244 MB, the dev weights) and on
 * each hostile file of the tests: a hostile file must not take more than the real one does.
 */
const folder = mkdtempSync(path.join(tmpdir(), 'alexnet-bench-checkpoints-'));
/** Prints the process's peak RSS (KB) on stderr as it exits. */
const REPORT_PEAK =
  "data:text/javascript,process.on('exit',()=>process.stderr.write('MAXRSS '+process.resourceUsage().maxRSS+'\\n'))";

function convert(file: string): { peakMb: number; seconds: number; outcome: string } {
  const started = performance.now();
  const run = spawnSync(
    process.execPath,
    ['--import', REPORT_PEAK, cliEntry, 'model', 'convert', file, '--out', path.join(folder, 'out.onnx')],
    { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  const seconds = (performance.now() - started) / 1000;
  const peakKb = Number(/MAXRSS (\d+)/.exec(run.stderr)?.[1] ?? Number.NaN);
  const outcome =
    run.status === 0
      ? 'converted'
      : (/^error: (.*)$/m.exec(run.stderr)?.[1] ?? `exit ${run.status}`).replace(`${file}: `, '').slice(0, 100);
  rmSync(path.join(folder, 'out.onnx'), { force: true });
  return { peakMb: peakKb / 1024, seconds, outcome };
}

try {
  const files: Array<[string, string]> = [];
  const real = path.join(folder, 'real-size-legacy.pth');
  writeFileSync(real, alexNetCheckpoint());
  files.push(['real size (legacy, 244 MB)', real]);
  for (const [name, bytes] of Object.entries(hostileCheckpoints())) {
    const file = path.join(folder, `${name}.pth`);
    writeFileSync(file, bytes);
    files.push([name, file]);
  }
  console.log('| checkpoint | file size | peak RSS | time | outcome |');
  console.log('| --- | --- | --- | --- | --- |');
  let realPeak = 0;
  let worstHostile = 0;
  for (const [name, file] of files) {
    const { peakMb, seconds, outcome } = convert(file);
    if (file === real) realPeak = peakMb;
    else worstHostile = Math.max(worstHostile, peakMb);
    console.log(
      `| ${name} | ${(statSync(file).size / 1024).toFixed(0)} KB | ${peakMb.toFixed(0)} MB | ${seconds.toFixed(2)} s | ${outcome} |`,
    );
  }
  console.log(
    `\nthe largest peak of a hostile file is ${(worstHostile / realPeak).toFixed(2)}× the real-size checkpoint's (${worstHostile.toFixed(0)} MB vs ${realPeak.toFixed(0)} MB)`,
  );
} finally {
  rmSync(folder, { recursive: true, force: true });
}
