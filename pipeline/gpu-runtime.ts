/**
 * The GPU runtime the worker image and its hosts must agree on — one place, with its sources.
 *
 * onnxruntime-node's installer downloads the CUDA provider from NuGet's public feed
 * (`Microsoft.ML.OnnxRuntime.Gpu.Linux`, the same version as onnxruntime-node). Since ONNX
 * Runtime 1.27 the packages there are built for CUDA 13 and cuDNN 9; the CUDA 12 builds moved to a
 * separate feed and are deprecated (microsoft/onnxruntime#29032, the 1.27.0 release-candidate
 * notes; #29767). CUDA 13 needs an NVIDIA driver of the 580 series or later and drops GPUs older
 * than Turing (compute capability 7.5), so Volta's p3 is out.
 */
export const GPU_RUNTIME = {
  /** onnxruntime-node versions (major.minor) this table describes. */
  onnxruntimeNode: { from: '1.27', through: '1.30' },
  cudaMajor: 13,
  cudnnMajor: 9,
  minimumDriverMajor: 580,
  /**
   * What ONNX Runtime's CUDA 13 packages were built with (microsoft/onnxruntime#27944): the image
   * must carry at least this cuDNN — an older cuDNN 9 loads (plain `ldd` is content) and then lacks
   * symbols. The image build checks both (`ldd -r`, and the cuDNN library's version).
   */
  builtWith: { cuda: '13.1', cudnn: '9.17', source: 'https://github.com/microsoft/onnxruntime/issues/27944' },
  /**
   * The CUDA + cuDNN runtime base image of the worker: the newest CUDA 13 `-cudnn-runtime` tag we
   * know of, 13.1 to match the build (bump: a newer nvidia/cuda tag of the same major, same
   * flavour). Whether its cuDNN is 9.17 or later is not verified here (no Docker); the image build
   * fails, naming both versions, if it is not.
   */
  baseImage: 'nvidia/cuda:13.1.1-cudnn-runtime-ubuntu24.04',
  sources: [
    'https://github.com/microsoft/onnxruntime/issues/29032',
    'https://github.com/microsoft/onnxruntime/issues/29767',
    'https://github.com/microsoft/onnxruntime/issues/27944',
  ],
} as const;

/**
 * The ECS-optimised Amazon Linux 2023 GPU AMI (NVIDIA driver 580.x in its 2026 releases, which runs
 * CUDA 13). Amazon Linux 2 is past its end of support and its GPU AMI's driver (550) cannot.
 */
export const GPU_AMI_PARAMETER = '/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id';

/** NVIDIA instance families the stack accepts: x86_64, Turing or newer, on the AL2023 ECS GPU AMI. */
export const SUPPORTED_GPU_FAMILIES = ['g4dn', 'g5', 'g6', 'g6e', 'gr6', 'p4d', 'p4de', 'p5', 'p5e', 'p5en'] as const;

/** Families refused with a reason, so the message says why rather than just "no". */
export const REFUSED_GPU_FAMILIES: Readonly<Record<string, string>> = {
  p3: 'Volta GPUs (p3) are not supported by CUDA 13, which ONNX Runtime 1.27 and later need',
  p3dn: 'Volta GPUs (p3dn) are not supported by CUDA 13, which ONNX Runtime 1.27 and later need',
  g5g: 'g5g is Arm (Graviton): the worker image is built for linux/amd64 and onnxruntime-node ships no CUDA provider for Arm',
  g4ad: 'g4ad has AMD GPUs: the worker needs NVIDIA CUDA',
};

/** Default Spot pool: one-GPU types with at least 4 vCPUs, so that any of them can run the task. */
export const DEFAULT_SPOT_INSTANCE_TYPES = ['g4dn.xlarge', 'g5.xlarge', 'g6.xlarge'] as const;

/** Why an instance type cannot run the worker, or undefined when it can. */
export function instanceTypeProblem(instanceType: string): string | undefined {
  const match = /^([a-z0-9]+)\.([a-z0-9]+)$/.exec(instanceType);
  if (!match) return `"${instanceType}" is not an EC2 instance type such as g4dn.xlarge`;
  const family = match[1]!;
  if (REFUSED_GPU_FAMILIES[family])
    return `${instanceType}: ${REFUSED_GPU_FAMILIES[family]}; use one of ${SUPPORTED_GPU_FAMILIES.join(', ')}`;
  if (!(SUPPORTED_GPU_FAMILIES as readonly string[]).includes(family))
    return `${instanceType} is not an NVIDIA GPU instance type this stack supports; use one of ${SUPPORTED_GPU_FAMILIES.join(', ')} (for example g4dn.xlarge)`;
  return undefined;
}
