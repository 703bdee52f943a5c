import { defineConfig } from 'vitest/config';

// One `vitest run` at the root runs every package's tests (each package is a
// project with its own vitest.config.ts) plus the cross-package suite.
export default defineConfig({
  test: {
    projects: ['packages/*', 'infra'],
  },
});
