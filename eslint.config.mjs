// ESLint: typescript-eslint's recommended rules plus the type-aware ones that catch what tests
// rarely do (a promise nobody awaits, a promise where a callback's result is ignored, awaiting a
// non-promise), and the project's layering (ARCHITECTURE.md's arrows) as import restrictions.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The layers and what each may import; every other project layer is off limits to it. */
const MAY_IMPORT = {
  common: [],
  model: ['common'],
  pipeline: ['model', 'common'],
  'functions/worker': ['pipeline', 'model', 'common'],
  local: ['functions/worker', 'pipeline', 'model', 'common'],
  cli: ['local', 'pipeline', 'model', 'common'],
  infra: ['pipeline', 'model', 'common'],
  // The benchmarks build their inputs with the tests' factories (hostile checkpoints, a real-size one).
  bench: ['cli', 'local', 'pipeline', 'model', 'common', 'test/helpers'],
  faults: ['cli', 'local', 'pipeline', 'model', 'common'],
};
const LAYERS = [...Object.keys(MAY_IMPORT), 'test'];

function layerBoundaries(layer, allowed) {
  const forbidden = LAYERS.filter(
    (other) => other !== layer && !allowed.includes(other) && !(layer === 'bench' && other === 'test'),
  );
  return {
    files: [`${layer}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...forbidden.map((other) => ({
              group: [`**/${other}/*`, `**/${other}/**`],
              message: `${layer} may import only ${allowed.join(', ') || 'npm packages'} (ARCHITECTURE.md)`,
            })),
            ...(layer === 'bench'
              ? [
                  {
                    group: ['**/test/*.js', '**/test/!(helpers)/**'],
                    message: 'bench may import only test/helpers of the tests',
                  },
                ]
              : []),
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'cdk.out/', 'node_modules/', '.cache/', 'coverage/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      // node:test's describe/it return promises the runner tracks itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Tests and SDK mocks reach into untyped shapes on purpose; production code keeps `any` out by review.
      '@typescript-eslint/no-explicit-any': 'off',
      // Terminal and key sanitising matches control characters on purpose.
      'no-control-regex': 'off',
      // A server's handler may read a variable assigned once the server exists.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  ...Object.entries(MAY_IMPORT).map(([layer, allowed]) => layerBoundaries(layer, allowed)),
  {
    // The gallery's page: plain browser JavaScript, no build step.
    files: ['cli/gallery/page/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.browser, sourceType: 'script' },
  },
);
