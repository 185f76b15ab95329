import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources in tests, so no build is needed first.
  ssr: { resolve: { conditions: ['source'] } },
  resolve: { conditions: ['source'] },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'infra/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The proofs of durability, load and bad input run many jobs: on the static `landing`
    // template they take seconds. The app jobs' own tests set MVP_TEMPLATE=app.
    env: { MVP_TEMPLATE: 'landing' },
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
