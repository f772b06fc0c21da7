import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../../../common/logger.js';
import { cpuInt8Instructions, deviceForInt8Model } from '../../../model/quantize/cpu-int8-support.js';

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = { warn: (_fields: object, message: string) => warnings.push(message) } as unknown as Logger;
  return { logger, warnings };
}

describe('int8 on this CPU', () => {
  it('reads the int8 dot-product instructions from /proc/cpuinfo, x86 and Arm', () => {
    const x86 =
      'processor\t: 0\nflags\t\t: fpu sse4_1 avx2 avx512f avx512_vnni avx_vnni\n\nprocessor\t: 1\nflags\t\t: fpu avx512_vnni\n';
    assert.deepEqual(
      cpuInt8Instructions(() => x86),
      ['avx512_vnni', 'avx_vnni'],
    );
    assert.deepEqual(
      cpuInt8Instructions(() => 'Features\t: fp asimd evtstrm aes asimddp sha512\n'),
      ['asimddp'],
    );
    assert.deepEqual(
      cpuInt8Instructions(() => 'flags\t\t: fpu sse4_2 avx2 fma\n'),
      [],
    );
    assert.equal(
      cpuInt8Instructions(() => {
        throw new Error('ENOENT');
      }),
      undefined,
    );
  });

  it('runs an int8 model on the CPU, warns once where the CPU has no int8 instructions, refuses CUDA', () => {
    const none = recordingLogger();
    assert.deepEqual(deviceForInt8Model('auto', none.logger, []), {
      device: 'cpu',
      reason: 'an int8 model runs on the CPU (no int8 GPU kernels for it)',
    });
    assert.equal(none.warnings.length, 1);
    assert.match(none.warnings[0]!, /no int8 dot-product instructions .* may be slower than fp32/);

    const vnni = recordingLogger();
    assert.deepEqual(deviceForInt8Model('cpu', vnni.logger, ['avx512_vnni']), { device: 'cpu', reason: 'requested' });
    const unknown = recordingLogger();
    deviceForInt8Model('auto', unknown.logger, undefined);
    assert.deepEqual(
      [...vnni.warnings, ...unknown.warnings],
      [],
      'no warning where the CPU has them or cannot be read',
    );

    assert.throws(() => deviceForInt8Model('cuda', vnni.logger, ['avx512_vnni']), {
      code: 'DEVICE_UNAVAILABLE',
      message: /an int8 model runs on the CPU/,
    });
  });
});
