import cliProgress from 'cli-progress';

/** The subset of a progress bar the commands use. */
export interface Progress {
  increment(by?: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr when stderr is a terminal, and nothing otherwise (pipes, CI, tests),
 * so that stdout stays machine-readable.
 */
export function createProgress(total: number, label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total === 0) return { increment() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { increment: (by = 1) => bar.increment(by), stop: () => bar.stop() };
}
