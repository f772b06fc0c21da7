import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { claimLocalState } from '../../cli/local/local-state.js';
import { projectRoot } from '../../common/paths.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

const localStateModule = path.join(projectRoot, 'dist', 'cli', 'local', 'local-state.js');

/** Processes that claim one state file in the same moment, each of them a separate pid. */
const CLAIMERS = 6;
const ROUNDS = 6;

interface Claimer {
  readonly pid: number;
  /** `claimed`, or the refusal's message. */
  readonly output: string;
  /** Lets the process end. */
  readonly release: () => void;
}

/**
 * A process that claims the state file, prints `claimed` or the refusal, and stays alive until
 * released: every other claimer sees a running holder, however slowly it started.
 */
function claimInChild(stateFile: string): Promise<Claimer> {
  const script = `
    const { claimLocalState } = await import(${JSON.stringify(localStateModule)});
    try { await claimLocalState(); console.log('claimed'); } catch (error) { console.log(error.message); }
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ALEXNET_LOCAL_STATE_FILE: stateFile },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`a claimer ended before it was released (${code}): ${output}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve({ pid: child.pid!, output: output.trim(), release: () => child.stdin.end() });
    });
  });
}

async function claimTogether(stateFile: string): Promise<void> {
  const started = await Promise.allSettled(Array.from({ length: CLAIMERS }, () => claimInChild(stateFile)));
  const claimers = started.flatMap((claimer) => (claimer.status === 'fulfilled' ? [claimer.value] : []));
  for (const claimer of claimers) claimer.release();
  assert.equal(claimers.length, CLAIMERS, 'every claimer answered');
  const winners = claimers.filter((claimer) => claimer.output === 'claimed');
  assert.equal(winners.length, 1, `exactly one claims: ${JSON.stringify(claimers)}`);
  const state = JSON.parse(await readFile(stateFile, 'utf8')) as { pid: number; starting: boolean };
  assert.deepEqual(state, { pid: winners[0]!.pid, starting: true }, 'the state file is the claim of the one that won');
  for (const loser of claimers.filter((claimer) => claimer !== winners[0]))
    assert.match(loser.output, /^a local pipeline is already running for .*state\.json \(pid \d+, still starting\)/);
  assert.deepEqual(await readdir(path.dirname(stateFile)), ['state.json'], 'no claim or stale file is left beside it');
}

describe('claimLocalState, by processes that start in the same moment', () => {
  it(`gives the state file to exactly one of ${CLAIMERS}, whole, in each of ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++)
      await claimTogether(path.join(temporaryFolder('alexnet-claim-'), 'state.json'));
  });

  it(`gives a state file left by a process that is gone to exactly one of ${CLAIMERS}, in each of ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const stateFile = path.join(temporaryFolder('alexnet-claim-stale-'), 'state.json');
      await writeFile(stateFile, JSON.stringify({ pid: 2 ** 22 + 1, starting: true }));
      await claimTogether(stateFile);
    }
  });
});

describe('claimLocalState: one process at a time takes a stale state file over', () => {
  const stalePid = 2 ** 22 + 1; // above the kernel's default pid_max: no process has it
  const staleClaim = JSON.stringify({ pid: stalePid, starting: true });

  /** A state file left by a process that is gone, and the takeover lock another process holds on it. */
  async function staleStateUnderTakeover(): Promise<{ stateFile: string; takeover: string }> {
    const stateFile = path.join(temporaryFolder('alexnet-takeover-'), 'state.json');
    process.env.ALEXNET_LOCAL_STATE_FILE = stateFile;
    await writeFile(stateFile, staleClaim);
    const takeover = `${stateFile}.takeover`;
    await mkdir(takeover); // proper-lockfile's lock: a folder, fresh by its mtime
    return { stateFile, takeover };
  }

  it("leaves the stale file alone while another process's takeover is under way, then meets that process's claim", async () => {
    const { stateFile, takeover } = await staleStateUnderTakeover();
    const claiming = claimLocalState();
    await sleep(300);
    assert.equal(await readFile(stateFile, 'utf8'), staleClaim, 'not removed under another takeover');
    // The other process finishes: its claim in place (a process that runs), its lock gone.
    await writeFile(stateFile, JSON.stringify({ pid: process.ppid, starting: true }));
    await rm(takeover, { recursive: true });
    await assert.rejects(
      claiming,
      new RegExp(
        `^CliError: a local pipeline is already running for .*state\\.json \\(pid ${process.ppid}, still starting\\)`,
      ),
    );
    assert.deepEqual(await readdir(path.dirname(stateFile)), ['state.json'], 'its claim file is gone');
  });

  it('takes over a takeover lock left by a process that is gone, once it is stale, and claims the state file', async () => {
    const { stateFile, takeover } = await staleStateUnderTakeover();
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(takeover, longAgo, longAgo);
    await claimLocalState();
    assert.deepEqual(JSON.parse(await readFile(stateFile, 'utf8')), { pid: process.pid, starting: true });
    assert.deepEqual(await readdir(path.dirname(stateFile)), ['state.json'], 'the lock is gone');
  });
});
