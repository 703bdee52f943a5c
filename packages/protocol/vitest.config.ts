import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@atomizer/source'] },
  ssr: { resolve: { conditions: ['@atomizer/source'] } },
  test: {
    name: 'protocol',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
