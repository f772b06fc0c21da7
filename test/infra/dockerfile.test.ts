import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    assert.equal(
      Number(match[1]),
      GPU_RUNTIME.cudaMajor,
      `the base image is CUDA ${match[1]}; onnxruntime-node's provider needs CUDA ${GPU_RUNTIME.cudaMajor}`,
    );
  });

  it('covers the installed onnxruntime-node version in the CUDA table (bumping it without the table fails here)', () => {
    const installed = (require('onnxruntime-node/package.json') as { version: string }).version;
    const [major, minor] = installed.split('.').map(Number) as [number, number];
    const version = major * 1000 + minor;
    const bound = (text: string) =>
      text
        .split('.')
        .map(Number)
        .reduce((sum, part, i) => sum + part * (i === 0 ? 1000 : 1), 0);
    assert.ok(
      version >= bound(GPU_RUNTIME.onnxruntimeNode.from) && version <= bound(GPU_RUNTIME.onnxruntimeNode.through),
      `onnxruntime-node ${installed} is outside ${GPU_RUNTIME.onnxruntimeNode.from}–${GPU_RUNTIME.onnxruntimeNode.through}`,
    );
  });

  it('passes ONNXRUNTIME_NODE_INSTALL a value the installed installer really parses as "install the CUDA provider"', () => {
    const value = /ONNXRUNTIME_NODE_INSTALL=(\S+) node node_modules\/onnxruntime-node\/script\/install\.js/.exec(
      dockerfile,
    )?.[1];
    assert.ok(value, 'the build runs the installer with ONNXRUNTIME_NODE_INSTALL set');
    const parsed = (flag: string) => {
      const saved = process.env.ONNXRUNTIME_NODE_INSTALL;
      process.env.ONNXRUNTIME_NODE_INSTALL = flag;
      try {
        return (
          require('onnxruntime-node/script/install-utils.js') as { parseInstallFlag(): unknown }
        ).parseInstallFlag();
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
    for (const line of froms)
      assert.match(line, /^FROM (--platform=linux\/amd64 \S+|build) AS \w+$|^FROM --platform=linux\/amd64 \S+$/, line);
  });

  it('fetches the weights in TypeScript (no Python stage), checks the sample cat, checks the provider libraries, and runs as a non-root user', () => {
    const instructions = dockerfile
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .join('\n');
    assert.doesNotMatch(instructions, /python|pip install/i);
    assert.match(dockerfile, /node dist\/cli\/main\.js model fetch --out model\/alexnet\.onnx/);
    assert.match(dockerfile, /\| node dist\/infra\/check-sample-cat\.js/);
    assert.match(
      dockerfile,
      /RUN check-provider-libraries \/app\/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64 \$\{MINIMUM_CUDNN\}$/m,
    );
    assert.match(dockerfile, /^USER worker$/m);
    // `PRECISION=int8` writes its model under /app/.cache (common/paths.ts): the worker must own it.
    const uid = /useradd [^\n]*--uid (\d+)[^\n]* worker/.exec(dockerfile)?.[1];
    assert.ok(uid, 'the worker user has a fixed uid');
    assert.match(dockerfile, new RegExp(`install -d -o ${uid} [^\\n]*/app/\\.cache$`, 'm'));
    assert.match(
      dockerfile,
      /^ENV .*\bALEXNET_OFFLINE=1\b/m,
      'a running task never fetches weights: they are in the image',
    );
    assert.match(argDefault('NODE_IMAGE') ?? '', /^node:22\.\d+\.\d+-bookworm-slim$/, 'Node.js 22, fully pinned');
  });
});

describe('infra/Dockerfile: what the image carries and how it starts', () => {
  it('checks the image’s cuDNN against the one ONNX Runtime was built with (pipeline/gpu-runtime.ts)', () => {
    assert.equal(argDefault('MINIMUM_CUDNN'), GPU_RUNTIME.builtWith.cudnn);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    assert.match(finalStage, /^ARG MINIMUM_CUDNN$/m, 'the argument reaches the last stage');
  });

  it('leaves out onnxruntime-node’s macOS, Windows and Linux-Arm binaries and the TensorRT provider, and keeps linux/x64', () => {
    const binaries = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6');
    const removed = ['darwin', 'win32', 'linux/arm64'];
    for (const folder of removed) {
      assert.match(
        dockerfile,
        new RegExp(`rm -rf [^\n]*node_modules/onnxruntime-node/bin/napi-v6/${folder}( |$)`, 'm'),
        `${folder} is removed`,
      );
      assert.ok(
        existsSync(path.join(binaries, folder)),
        `${folder} is really in the package (the rm removes something)`,
      );
    }
    assert.match(
      dockerfile,
      /rm -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime_providers_tensorrt\.so/,
    );
    assert.doesNotMatch(dockerfile, /rm -rf? [^\n]*napi-v6\/linux\/x64(\s|$)/, 'the binaries the image runs stay');
  });

  it('starts the worker by default, and gpu-check when asked (docker run --gpus all <image> gpu-check)', () => {
    assert.match(dockerfile, /^ENTRYPOINT \["alexnet-entrypoint"\]$/m);
    assert.match(dockerfile, /^COPY infra\/entrypoint\.sh \/usr\/local\/bin\/alexnet-entrypoint$/m);
    assert.match(dockerfile, /^COPY samples \.\/samples$/m, 'gpu-check classifies the samples');
    const run = spawnSync('sh', [path.join(projectRoot, 'infra', 'entrypoint.sh'), 'gpu-check'], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: gpu-check: no NVIDIA GPU on this machine/m);
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
    writeFileSync(path.join(bin, 'ldd'), '#!/bin/sh\n[ "$1" = -r ] && shift\ncat "$1"\n');
    chmodSync(path.join(bin, 'ldd'), 0o755);
    return spawnSync('sh', [path.join(projectRoot, 'infra', 'check-provider-libraries.sh'), libraries], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
  }

  it('passes when only the driver’s libcuda.so.1 is not found', () => {
    const result = run({
      'libonnxruntime_providers_cuda.so':
        'libcublas.so.13 => /usr/local/cuda/lib64/libcublas.so.13\n\tlibcuda.so.1 => not found',
      'libonnxruntime_providers_shared.so': 'libc.so.6 => /lib/libc.so.6',
    });
    assert.equal(result.status, 0, result.stderr);
  });

  it('fails, naming the library and what it misses, when a CUDA or cuDNN library is not found', () => {
    const result = run({
      'libonnxruntime_providers_cuda.so':
        'libcudnn.so.9 => not found\n\tlibcublasLt.so.12 => not found\n\tlibcuda.so.1 => not found',
    });
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /libonnxruntime_providers_cuda\.so cannot load in this image; not found: libcudnn\.so\.9 libcublasLt\.so\.12$/m,
    );
  });

  it('fails when the CUDA provider was not installed at all', () => {
    const result = run({ 'libonnxruntime_providers_shared.so': 'libc.so.6 => /lib/libc.so.6' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /libonnxruntime_providers_cuda\.so is missing/);
  });
});

/** A C compiler, to make stand-in libraries that the real `ldd -r` reads. */
const compiler = ['cc', 'gcc'].find((name) => spawnSync(name, ['--version']).status === 0);

describe(
  'check-provider-libraries.sh with the real ldd -r, on libraries built here',
  { skip: compiler ? false : 'skipped: no C compiler (apt-get install gcc)' },
  () => {
    /**
     * A folder laid out as onnxruntime-node's linux/x64: the real libonnxruntime.so.1 and a stand-in
     * CUDA provider built from `source`, linked against a libcuda.so.1 that is then taken away, as
     * the driver's is absent from an image until the host mounts it.
     */
    function layout(source: string, cudnnLibraries: readonly string[] = ['libcudnn.so.9.17.1']) {
      const folder = temporaryFolder('alexnet-provider-');
      const binaries = path.join(folder, 'x64');
      const cudnn = path.join(folder, 'cudnn');
      spawnSync('mkdir', ['-p', binaries, cudnn]);
      const real = path.join(
        path.dirname(require.resolve('onnxruntime-node/package.json')),
        'bin',
        'napi-v6',
        'linux',
        'x64',
        'libonnxruntime.so.1',
      );
      copyFileSync(real, path.join(binaries, 'libonnxruntime.so.1'));
      const driver = path.join(folder, 'driver');
      spawnSync('mkdir', ['-p', driver]);
      writeFileSync(path.join(driver, 'cuda.c'), 'int cuInit(unsigned flags) { return (int)flags; }\n');
      assert.equal(
        spawnSync(compiler!, [
          '-shared',
          '-fPIC',
          '-Wl,-soname,libcuda.so.1',
          '-o',
          path.join(driver, 'libcuda.so.1'),
          path.join(driver, 'cuda.c'),
        ]).status,
        0,
      );
      writeFileSync(path.join(folder, 'provider.c'), source);
      const built = spawnSync(
        compiler!,
        [
          '-shared',
          '-fPIC',
          '-o',
          path.join(binaries, 'libonnxruntime_providers_cuda.so'),
          path.join(folder, 'provider.c'),
          `-L${driver}`,
          '-l:libcuda.so.1',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(built.status, 0, built.stderr);
      rmSync(driver, { recursive: true });
      for (const name of cudnnLibraries) writeFileSync(path.join(cudnn, name), '');
      return (minimum?: string) =>
        spawnSync(
          'sh',
          [path.join(projectRoot, 'infra', 'check-provider-libraries.sh'), binaries, ...(minimum ? [minimum] : [])],
          { encoding: 'utf8', env: { ...process.env, CUDNN_LIBRARY_DIRS: cudnn } },
        );
    }

    it('passes the real layout: ONNX Runtime’s own library, and a provider whose symbols are all defined (the driver’s cu* excepted)', () => {
      const result = layout('extern int cuInit(unsigned); int provider(void) { return cuInit(0); }\n')('9.17');
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /libonnxruntime\.so\.1 finds every library and symbol it needs/);
      assert.match(result.stdout, /cuDNN 9\.17\.1 \(at least 9\.17\)/);
    });

    it('fails a provider with an undefined symbol, naming it, where plain ldd would pass', () => {
      const result = layout(
        'extern void cudnnNewerThanTheImage(void); void provider(void) { cudnnNewerThanTheImage(); }\n',
      )();
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        /libonnxruntime_providers_cuda\.so cannot load in this image; undefined symbols: cudnnNewerThanTheImage \(a library older than the one it was built with\?\)$/m,
      );
    });

    it('fails an image whose cuDNN is older than the one the provider was built with, naming both', () => {
      const result = layout('int provider(void) { return 0; }\n', ['libcudnn.so.9.12.0', 'libcudnn.so.9'])('9.17');
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        /the image has cuDNN 9\.12\.0, older than the 9\.17 ONNX Runtime's CUDA provider was built with/,
      );
      const none = layout('int provider(void) { return 0; }\n', [])('9.17');
      assert.match(none.stderr, /no cuDNN 9 library \(libcudnn\.so\.9\.x\.y\) in this image/);
    });
  },
);
