import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

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
      testTimeout: 60_000,
      ...(opts.globalSetup ? { globalSetup: opts.globalSetup } : {}),
    },
  });
}
