import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'sidelight-out/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // the live page's script runs in the browser, as a classic script
    files: ['src/ui/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'navigator', 'console', 'getComputedStyle', 'getSelection', 'matchMedia', 'requestAnimationFrame', 'setTimeout', 'EventSource', 'ResizeObserver', 'CSS', 'uPlot'].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    // The analysis library (`sidelight`) loads prom-client's metric classes only, from
    // src/telemetry/prom.ts: the package's index loads far more (see there) for no use offline.
    files: ['processors/**/*.ts', 'src/{windows,traces,painpoints,problems,library}/**/*.ts', 'src/pipeline/{engine,engine-parts,span-preparation,processor-registry,run-resolution}.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: 'prom-client', message: 'import Counter, Gauge and Registry from src/telemetry/prom.ts (the library loads none of the rest)', allowTypeImports: true }] },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
);
