import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** What the machine says of its GPU stack: each field undefined where it cannot tell. */
export interface GpuEnvironment {
  /** An NVIDIA device node or a working nvidia-smi. */
  readonly hasNvidiaGpu: boolean;
  readonly gpuName?: string;
  readonly driverVersion?: string;
  /** The CUDA runtime (libcudart) the image carries. */
  readonly cudaVersion?: string;
  readonly cudnnVersion?: string;
}

/** Where CUDA images keep their libraries. */
const LIBRARY_DIRECTORIES = [
  '/usr/local/cuda/lib64',
  '/usr/local/cuda/targets/x86_64-linux/lib',
  '/usr/lib/x86_64-linux-gnu',
];

/** The highest `x.y.z` of the files `lib<name>.so.x.y.z` in the library folders. */
function libraryVersion(name: string, directories: readonly string[]): string | undefined {
  const pattern = new RegExp(`^lib${name}\\.so\\.(\\d+\\.\\d+\\.\\d+)$`);
  const versions = directories.flatMap((directory) => {
    try {
      return readdirSync(directory).flatMap((file) => pattern.exec(file)?.[1] ?? []);
    } catch {
      return [];
    }
  });
  return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
}

/**
 * The GPU, its driver, and the CUDA and cuDNN runtimes this machine (or container) has: nvidia-smi
 * for the GPU and the driver (the kernel module's version file without it), the libraries' file
 * names for CUDA and cuDNN, or the variables NVIDIA's images set (CUDA_VERSION, NV_CUDNN_VERSION).
 */
export function readGpuEnvironment(
  directories: readonly string[] = LIBRARY_DIRECTORIES,
  environment: NodeJS.ProcessEnv = process.env,
): GpuEnvironment {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  const [gpuName, smiDriver] =
    smi.status === 0 ? (smi.stdout.split('\n')[0] ?? '').split(',').map((part) => part.trim()) : [];
  const moduleVersion = existsSync('/proc/driver/nvidia/version')
    ? /Kernel Module\s+(\d+\.\d+(?:\.\d+)?)/.exec(readFileSync('/proc/driver/nvidia/version', 'utf8'))?.[1]
    : undefined;
  return {
    hasNvidiaGpu: existsSync('/dev/nvidia0') || smi.status === 0,
    ...(gpuName ? { gpuName } : {}),
    ...((smiDriver ?? moduleVersion) ? { driverVersion: smiDriver || moduleVersion } : {}),
    ...((libraryVersion('cudart', directories) ?? environment.CUDA_VERSION)
      ? { cudaVersion: libraryVersion('cudart', directories) ?? environment.CUDA_VERSION }
      : {}),
    ...((libraryVersion('cudnn', directories) ?? environment.NV_CUDNN_VERSION)
      ? { cudnnVersion: libraryVersion('cudnn', directories) ?? environment.NV_CUDNN_VERSION }
      : {}),
  };
}
