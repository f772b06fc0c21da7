import { spawnSync } from 'node:child_process';
import { crossChecksSkipped } from './cross-checks.js';

/**
 * A Python interpreter that can import torch, torchvision and onnx (Debian's python3-torch,
 * python3-torchvision and python3-onnx), or undefined with the reason, for tests that skip
 * without it.
 */
export function findPythonWithTorch(): { python?: string; reason: string } {
  if (crossChecksSkipped) return { reason: crossChecksSkipped.replace(/^skipped: /, '') };
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(candidate, ['-c', 'import torch, torchvision, onnx'], { encoding: 'utf8' });
    if (probe.status === 0) return { python: candidate, reason: 'found' };
  }
  return {
    reason:
      'no python3 with torch, torchvision and onnx (apt-get install python3-torch python3-torchvision python3-onnx)',
  };
}
