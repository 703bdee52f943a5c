// Import boundaries between the workspace packages (issue 12), checked by `npm run lint:deps`
// in CI after the typecheck. Workspace imports resolve as the code runs them, to the
// TypeScript sources (export condition @atomizer/source). What the model loads at run time is
// also checked in a real process: packages/integration/src/light-imports.test.ts.

/** Clients of Redis, S3 and BullMQ, and the embedded S3 server (s3rver, with koa, busboy and dicer). */
const SERVICE_CLIENTS = '/node_modules/(ioredis|bullmq|s3rver|@aws-sdk/[^/]+)/';
/** The contract's entry points that load them (package.json "exports": ./s3, ./redis, ./embedded). */
const PROTOCOL_SERVICE_ENTRIES = '^packages/protocol/src/(s3-store|redis|embedded-s3)\\.ts$';
/** Code that runs only in tests. */
const TEST_ONLY = ['\\.test\\.ts$', '/src/testing/', '^packages/[^/]+/test/'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'tokenizer-imports-model',
      comment: 'The tokenizer is below the model: the model imports it, never the other way round.',
      severity: 'error',
      from: { path: '^packages/tokenizer/' },
      to: { path: '^packages/model/' },
    },
    {
      name: 'worker-imports-coordinator',
      comment: 'A worker runs without the coordinator (its own machine, its own image): it shares only the contract.',
      severity: 'error',
      from: { path: '^packages/worker/' },
      to: { path: '^packages/coordinator/' },
    },
    {
      name: 'model-loads-service-clients',
      comment:
        'The model, and what it imports (the tokenizer, wasm-native), never loads Redis, S3 or BullMQ: ' +
        'it runs in compute processes, benchmarks and notebooks that have none. Tests may start servers.',
      severity: 'error',
      from: { path: '^packages/(model|tokenizer|wasm-native)/', pathNot: TEST_ONLY },
      to: { path: [SERVICE_CLIENTS, PROTOCOL_SERVICE_ENTRIES] },
    },
    {
      name: 'protocol-core-loads-service-clients',
      comment:
        "The contract's core (@atomizer/protocol) is imported by every package: only its ./s3, ./redis and " +
        './embedded entry points may load service clients. openStore imports the S3 module when it opens an s3:// location.',
      severity: 'error',
      from: { path: '^packages/protocol/src/', pathNot: [PROTOCOL_SERVICE_ENTRIES, ...TEST_ONLY] },
      to: { path: [SERVICE_CLIENTS, PROTOCOL_SERVICE_ENTRIES], dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
    {
      name: 'protocol-imports-workspace',
      comment: 'The contract is the bottom layer: it imports no other workspace package.',
      severity: 'error',
      from: { path: '^packages/protocol/' },
      to: { path: '^packages/(?!protocol/)' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '^packages/[^/]+/vendor/'] },
    exclude: { path: '^packages/[^/]+/dist/' },
    // Type-only imports count too (labelled 'type-only'), so a rule can tell them apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@atomizer/source', 'import', 'require', 'node', 'default'],
    },
    cache: false,
  },
};
