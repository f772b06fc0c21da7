import type { LabelScore } from '../../model/index.js';
import type { GpuEnvironment } from './gpu-environment.js';

/** Images per second at one batch size, on the GPU and on the CPU. */
export interface ThroughputRow {
  readonly batchSize: number;
  readonly cudaImagesPerSecond: number;
  readonly cpuImagesPerSecond: number;
}

/** What `gpu-check` found. */
export interface GpuReport {
  readonly environment: GpuEnvironment;
  /** The CUDA provider loaded (and ran), or the exact reason it did not (the library or symbol). */
  readonly provider: { readonly loaded: true } | { readonly loaded: false; readonly error: string };
  /** Per sample image: whether the top-5 labels on CUDA and on the CPU are the same classes, in the same order. */
  readonly agreement?: ReadonlyArray<{
    readonly image: string;
    readonly sameTopFive: boolean;
    readonly largestScoreDifference: number;
  }>;
  readonly throughput?: readonly ThroughputRow[];
}

/** Whether two top-5 lists name the same classes in the same order, and their largest score difference. */
export function compareTopFive(
  a: readonly LabelScore[],
  b: readonly LabelScore[],
): { sameTopFive: boolean; largestScoreDifference: number } {
  const sameTopFive = a.length === b.length && a.every((label, i) => label.index === b[i]!.index);
  const byIndex = new Map(b.map((label) => [label.index, label.score]));
  const largestScoreDifference = Math.max(
    0,
    ...a.map((label) => Math.abs(label.score - (byIndex.get(label.index) ?? 0))),
  );
  return { sameTopFive, largestScoreDifference };
}

/** True when the report shows a GPU that works: the provider loads and agrees with the CPU on every image. */
export function gpuWorks(report: GpuReport): boolean {
  return (
    report.provider.loaded && (report.agreement ?? []).length > 0 && report.agreement!.every((row) => row.sameTopFive)
  );
}

/** The report as a person reads it: the stack's versions, the provider, agreement, and speed against the CPU. */
export function formatGpuReport(report: GpuReport): string {
  const { environment: env } = report;
  const unknown = 'not found';
  const lines = [
    `GPU            ${env.gpuName ?? unknown}`,
    `NVIDIA driver  ${env.driverVersion ?? unknown}`,
    `CUDA runtime   ${env.cudaVersion ?? unknown}`,
    `cuDNN          ${env.cudnnVersion ?? unknown}`,
    `CUDA provider  ${report.provider.loaded ? 'loaded' : `did not load: ${report.provider.error}`}`,
  ];
  if (report.agreement) {
    const same = report.agreement.filter((row) => row.sameTopFive).length;
    const largest = Math.max(0, ...report.agreement.map((row) => row.largestScoreDifference));
    lines.push(
      `top-5 agreement CUDA vs CPU: ${same} of ${report.agreement.length} images, largest score difference ${largest.toExponential(1)}`,
    );
    for (const row of report.agreement.filter((item) => !item.sameTopFive)) lines.push(`  differs: ${row.image}`);
  }
  if (report.throughput) {
    lines.push('images per second   batch   CUDA      CPU   CUDA/CPU');
    for (const row of report.throughput) {
      lines.push(
        `                    ${String(row.batchSize).padStart(5)} ${row.cudaImagesPerSecond.toFixed(0).padStart(6)} ${row.cpuImagesPerSecond.toFixed(0).padStart(8)} ${(row.cudaImagesPerSecond / row.cpuImagesPerSecond).toFixed(1).padStart(9)}×`,
      );
    }
  }
  lines.push(
    gpuWorks(report) ? 'the GPU works: the worker will run on it' : 'the GPU does not work for the worker: see above',
  );
  return lines.join('\n');
}
