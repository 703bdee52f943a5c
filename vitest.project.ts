import { configDefaults, defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * Test files left out of this run: ATOMIZER_TEST_EXCLUDE, comma-separated globs (e.g.
 * `**\/chaos.test.ts`). .ci/run's second pass on another Node major uses it; vitest's own
 * --exclude does not reach the projects.
 */
const extraExclude = (process.env.ATOMIZER_TEST_EXCLUDE ?? '')
  .split(',')
  .map((g) => g.trim())
  .filter((g) => g !== '');

/**
 * The vitest project of one workspace package: tests next to the code
 * (`src/**\/*.test.ts`) and cross-module suites in `test/`, with workspace
 * imports resolved to TypeScript sources (export condition `@atomizer/source`).
 */
export function packageProject(name: string, opts: { globalSetup?: string[] } = {}): UserWorkspaceConfig {
  return defineProject({
    resolve: { conditions: ['@atomizer/source'] },
    ssr: { resolve: { conditions: ['@atomizer/source'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      exclude: [...configDefaults.exclude, ...extraExclude],
      testTimeout: 60_000,
      ...(opts.globalSetup ? { globalSetup: opts.globalSetup } : {}),
    },
  });
}
