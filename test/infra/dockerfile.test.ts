import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../common/paths.js';
import { GPU_RUNTIME } from '../../pipeline/gpu-runtime.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

/** No Docker engine here: the Dockerfile is checked as text, against the facts it must agree with. */
const dockerfile = readFileSync(path.join(projectRoot, 'infra', 'Dockerfile'), 'utf8');
const argDefault = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile)?.[1];
const require = createRequire(import.meta.url);

describe('infra/Dockerfile (static checks: Docker cannot run here)', () => {
  it('builds on the CUDA major that the installed onnxruntime-node’s CUDA provider is built for, with a fully pinned tag', () => {
    const image = argDefault('CUDA_IMAGE');
    assert.equal(image, GPU_RUNTIME.baseImage, 'pipeline/gpu-runtime.ts and the Dockerfile name the same base image');
    const match = /^nvidia\/cuda:(\d+)\.(\d+)\.(\d+)-cudnn-runtime-ubuntu\d+\.\d+$/.exec(image!);
    assert.ok(match, `${image} is a full nvidia/cuda tag of the cudnn-runtime flavour`);
    assert.equal(Number(match[1]), GPU_RUNTIME.cudaMajor, `the base image is CUDA ${match[1]}; onnxruntime-node's provider needs CUDA ${GPU_RUNTIME.cudaMajor}`);
  });

  it('covers the installed onnxruntime-node version in the CUDA table (bumping it without the table fails here)', () => {
    const installed = (require('onnxruntime-node/package.json') as { version: string }).version;
    const [major, minor] = installed.split('.').map(Number) as [number, number];
    const version = major * 1000 + minor;
    const bound = (text: string) => text.split('.').map(Number).reduce((sum, part, i) => sum + part * (i === 0 ? 1000 : 1), 0);
    assert.ok(version >= bound(GPU_RUNTIME.onnxruntimeNode.from) && version <= bound(GPU_RUNTIME.onnxruntimeNode.through), `onnxruntime-node ${installed} is outside ${GPU_RUNTIME.onnxruntimeNode.from}–${GPU_RUNTIME.onnxruntimeNode.through}`);
  });

  it('passes ONNXRUNTIME_NODE_INSTALL a value the installed installer really parses as "install the CUDA provider"', () => {
    const value = /ONNXRUNTIME_NODE_INSTALL=(\S+) node node_modules\/onnxruntime-node\/script\/install\.js/.exec(dockerfile)?.[1];
    assert.ok(value, 'the build runs the installer with ONNXRUNTIME_NODE_INSTALL set');
    const parsed = (flag: string) => {
      const saved = process.env.ONNXRUNTIME_NODE_INSTALL;
      process.env.ONNXRUNTIME_NODE_INSTALL = flag;
      try {
        return (require('onnxruntime-node/script/install-utils.js') as { parseInstallFlag(): unknown }).parseInstallFlag();
      } finally {
        if (saved === undefined) delete process.env.ONNXRUNTIME_NODE_INSTALL;
        else process.env.ONNXRUNTIME_NODE_INSTALL = saved;
      }
    };
    assert.equal(parsed(value!), true, `${value} forces the install`);
    assert.equal(parsed('cuda12'), undefined, 'the old value only fell through to the default');
  });

  it('builds every stage for linux/amd64, whatever machine runs the build', () => {
    const froms = dockerfile.split('\n').filter((line) => line.startsWith('FROM '));
    assert.ok(froms.length >= 2);
    for (const line of froms) assert.match(line, /^FROM (--platform=linux\/amd64 \S+|build) AS \w+$|^FROM --platform=linux\/amd64 \S+$/, line);
  });

  it('fetches the weights in TypeScript (no Python stage), checks the sample cat, checks the provider libraries, and runs as a non-root user', () => {
    const instructions = dockerfile.split('\n').filter((line) => !line.startsWith('#')).join('\n');
    assert.doesNotMatch(instructions, /python|pip install/i);
    assert.match(dockerfile, /node dist\/cli\/main\.js model fetch --out model\/alexnet\.onnx/);
    assert.match(dockerfile, /\| node dist\/infra\/check-sample-cat\.js/);
    assert.match(dockerfile, /RUN check-provider-libraries \/app\/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64/);
    assert.match(dockerfile, /^USER worker$/m);
    assert.match(argDefault('NODE_IMAGE') ?? '', /^node:22\.\d+\.\d+-bookworm-slim$/, 'Node.js 22, fully pinned');
  });
});

describe('check-provider-libraries.sh (run with a stand-in ldd)', () => {
  function run(lddOutput: Record<string, string>) {
    const folder = temporaryFolder('alexnet-ldd-');
    const bin = path.join(folder, 'bin');
    const libraries = path.join(folder, 'x64');
    spawnSync('mkdir', ['-p', bin, libraries]);
    // Each stand-in library holds what ldd prints for it; the stand-in ldd prints the file.
    for (const [name, output] of Object.entries(lddOutput)) writeFileSync(path.join(libraries, name), `${output}\n`);
    writeFileSync(path.join(bin, 'ldd'), '#!/bin/sh\ncat "$1"\n');
    chmodSync(path.join(bin, 'ldd'), 0o755);
    return spawnSync('sh', [path.join(projectRoot, 'infra', 'check-provider-libraries.sh'), libraries], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  }

  it('passes when only the driver’s libcuda.so.1 is not found', () => {
    const result = run({ 'libonnxruntime_providers_cuda.so': 'libcublas.so.13 => /usr/local/cuda/lib64/libcublas.so.13\n\tlibcuda.so.1 => not found', 'libonnxruntime_providers_shared.so': 'libc.so.6 => /lib/libc.so.6' });
    assert.equal(result.status, 0, result.stderr);
  });

  it('fails, naming the library and what it misses, when a CUDA or cuDNN library is not found', () => {
    const result = run({ 'libonnxruntime_providers_cuda.so': 'libcudnn.so.9 => not found\n\tlibcublasLt.so.12 => not found\n\tlibcuda.so.1 => not found' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /libonnxruntime_providers_cuda\.so cannot load in this image; not found: libcudnn\.so\.9 libcublasLt\.so\.12$/m);
  });

  it('fails when the CUDA provider was not installed at all', () => {
    const result = run({ 'libonnxruntime_providers_shared.so': 'libc.so.6 => /lib/libc.so.6' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /libonnxruntime_providers_cuda\.so is missing/);
  });
});
