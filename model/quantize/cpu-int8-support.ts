import { readFileSync } from 'node:fs';
import type { Logger } from '../../common/logger.js';
import type { DeviceChoice } from '../devices.js';
import { ModelError } from '../errors.js';

/**
 * The CPU instructions that make int8 inference fast in ONNX Runtime's kernels: x86's VNNI
 * (AVX-512 or AVX) and AMX, Arm's dot product. Without them ONNX Runtime still runs an int8
 * model, on slower integer kernels that may lose to fp32.
 */
const INT8_DOT_PRODUCT_FLAGS = ['avx512_vnni', 'avx_vnni', 'amx_int8', 'asimddp'] as const;

/** Which int8 dot-product instructions the CPU reports (`/proc/cpuinfo`'s flags), or undefined where it cannot be read. */
export function cpuInt8Instructions(
  readCpuInfo: () => string = () => readFileSync('/proc/cpuinfo', 'utf8'),
): string[] | undefined {
  let cpuInfo: string;
  try {
    cpuInfo = readCpuInfo();
  } catch {
    return undefined;
  }
  const flags = new Set(
    cpuInfo
      .split('\n')
      .filter((line) => /^(flags|Features)\s*:/.test(line))
      .flatMap((line) =>
        line
          .slice(line.indexOf(':') + 1)
          .trim()
          .split(/\s+/),
      ),
  );
  return INT8_DOT_PRODUCT_FLAGS.filter((flag) => flags.has(flag));
}

/**
 * Where an int8 model runs: on the CPU. ONNX Runtime's CUDA provider has no fused int8 kernels for
 * a QDQ graph (it would run it as fp32 with extra work), so `--device cuda` is refused and `auto`
 * means the CPU. A CPU without int8 dot-product instructions is said once, in a warning.
 */
export function deviceForInt8Model(
  choice: DeviceChoice,
  logger: Logger,
  instructions: string[] | undefined = cpuInt8Instructions(),
): { device: 'cpu'; reason: string } {
  if (choice === 'cuda')
    throw new ModelError(
      'DEVICE_UNAVAILABLE',
      '--device cuda: an int8 model runs on the CPU (ONNX Runtime has no int8 GPU kernels for it); use --device cpu or auto, or the fp32 model on the GPU',
    );
  if (instructions !== undefined && instructions.length === 0)
    logger.warn(
      { wanted: INT8_DOT_PRODUCT_FLAGS },
      'this CPU reports no int8 dot-product instructions (VNNI, AMX, Arm dot product): ONNX Runtime falls back to generic integer kernels, which may be slower than fp32 here — compare with --precision fp32',
    );
  return {
    device: 'cpu',
    reason: choice === 'cpu' ? 'requested' : 'an int8 model runs on the CPU (no int8 GPU kernels for it)',
  };
}
