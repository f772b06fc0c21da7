import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { endWithThisProcess } from '../common/child-processes.js';

/** moto's server, if this machine has it (pip's moto): a stand-in for the AWS APIs no embedded emulator speaks. */
export const motoAvailable = spawnSync('moto_server', ['--help'], { encoding: 'utf8' }).status === 0;
export const noMoto = motoAvailable ? false : 'skipped: moto_server is not installed (pip install "moto[server]")';

/** A moto server on a free loopback port; stop() ends it. */
export async function startMoto(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = endWithThisProcess(
    spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`${endpoint}/moto-api/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error('moto_server did not start');
    await sleep(200);
  }
  return {
    endpoint,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
