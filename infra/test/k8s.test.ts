// infra/k8s: every manifest valid against the Kubernetes API schemas, credentials only
// from the Secret, GPUs requested per worker pod, Services that reach their pods, images
// from the Dockerfile, and commands / env / ports / queue names matching the CLI and code.
import { join } from 'node:path';
import { parseRunConfig, queueNames } from '@atomizer/protocol';
import { Job } from 'kubernetes-models/batch/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SECRET_NAME, checkEnvNames, checkInvocation, flagValue } from './cli.js';
import { DOCKER_DIR, K8S_DIR, listFiles, loadK8sResources, loadKustomization, parseDockerfile, readText, words } from './repo.js';

/**
 * The Kubernetes schemas: the npm package kubernetes-models 4.5.1 (generated from the
 * Kubernetes 1.27 OpenAPI spec, compiled to Ajv validators; `validate()` throws on a wrong
 * type, a missing required field or a bad format). Like the API's own schema they do not
 * reject unknown fields, so the tests below check the fields this project relies on.
 */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
};

type Container = {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: unknown } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
};
type PodSpec = {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: Array<{ name: string; configMap?: { name: string } }>;
};
type Workload = {
  kind: string;
  metadata: { name: string };
  spec: { replicas?: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
};

const resources = loadK8sResources();
const kustomization = loadKustomization();
const workloads = resources.map((r) => r.doc as unknown as Workload).filter((d) => ['Deployment', 'StatefulSet', 'Job'].includes(d.kind));
const containers = workloads.flatMap((w) =>
  w.spec.template.spec.containers.map((c) => ({ w, c, where: `${w.kind}/${w.metadata.name} container ${c.name}` })),
);
const atomizerContainers = containers.filter(({ c }) => /^atomizer-/.test(c.image));
const configMaps = new Map(
  resources
    .filter((r) => r.doc.kind === 'ConfigMap')
    .map((r) => [(r.doc.metadata as { name: string }).name, r.doc.data as Record<string, string>]),
);
const workload = (kind: string, name: string): Workload => {
  const w = workloads.find((x) => x.kind === kind && x.metadata.name === name);
  if (w === undefined) throw new Error(`infra/k8s has no ${kind} ${name}`);
  return w;
};

describe('infra/k8s', () => {
  it('lists every manifest file in kustomization.yaml, and only existing ones', () => {
    const files = listFiles(K8S_DIR, /\.yaml$/).map((f) => f.slice(K8S_DIR.length + 1));
    const generated = (kustomization.configMapGenerator ?? []).flatMap((g) => g.files ?? []);
    expect([...kustomization.resources, ...generated, 'kustomization.yaml'].sort()).toEqual(files.sort());
  });

  it('validates every resource against the Kubernetes API schemas', () => {
    expect(resources.length).toBeGreaterThan(5);
    for (const { file, index, doc } of resources) {
      const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
      const Model = MODELS[key];
      expect(Model, `${file} document ${index + 1}: no schema registered for ${key} (add its kubernetes-models class)`).toBeDefined();
      if (Model === undefined) continue;
      expect(() => new Model(doc as never).validate(), `${file} document ${index + 1} (${key})`).not.toThrow();
    }
  });

  it('the schema check catches a wrong field (it can fail)', () => {
    const broken = structuredClone(workload('Deployment', 'atomizer-worker-gpu')) as unknown as Record<string, unknown>;
    (broken.spec as Record<string, unknown>).replicas = 'two';
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
    const noContainers = structuredClone(workload('Job', 'atomizer-coordinator')) as unknown as {
      spec: { template: { spec: Record<string, unknown> } };
    };
    delete noContainers.spec.template.spec.containers;
    expect(() => new Job(noContainers as never).validate()).toThrow(/containers/);
  });

  it('commits no Secret: credentials come from the Secret atomizer-credentials through secretKeyRef', () => {
    expect(resources.map((r) => r.doc.kind)).not.toContain('Secret');
    for (const { c, where } of containers) {
      for (const e of c.env ?? []) {
        if (!SECRET_NAME.test(e.name) && e.valueFrom?.secretKeyRef === undefined) continue;
        expect(e.value, `${where}: ${e.name} must not be a literal`).toBeUndefined();
        expect(e.valueFrom?.secretKeyRef, `${where}: ${e.name}`).toEqual({
          name: 'atomizer-credentials',
          key: e.name === 'REDISCLI_AUTH' ? 'REDIS_PASSWORD' : e.name,
        });
      }
      // a secret passed as an argument (--requirepass, --token ...) is a $(VAR) of a secretKeyRef env
      const args = [...(c.command ?? []), ...(c.args ?? [])];
      args.forEach((arg, i) => {
        if (i === 0 || !/pass|secret|token|key/i.test(args[i - 1] as string)) return;
        const ref = /^\$\(([A-Z0-9_]+)\)$/.exec(arg)?.[1];
        expect(ref, `${where}: ${args[i - 1]} must be given as $(VAR), not a literal`).toBeDefined();
        expect(c.env?.find((e) => e.name === ref)?.valueFrom?.secretKeyRef, `${where}: $(${ref}) must come from the Secret`).toBeDefined();
      });
    }
    for (const [name, data] of configMaps) {
      for (const key of Object.keys(data ?? {})) expect(key, `ConfigMap ${name} holds a secret-like key`).not.toMatch(SECRET_NAME);
    }
  });

  it('runs Redis with AOF persistence on a volume and maxmemory-policy noeviction, password from the Secret', () => {
    const redis = workload('StatefulSet', 'atomizer-redis').spec.template.spec.containers[0] as Container;
    expect(flagValue(redis.args ?? [], '--maxmemory-policy')).toBe('noeviction');
    expect(flagValue(redis.args ?? [], '--appendonly')).toBe('yes');
    expect(flagValue(redis.args ?? [], '--requirepass')).toBe('$(REDIS_PASSWORD)');
    expect(redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  it('requests one NVIDIA GPU per GPU worker pod and runs the tensorflow-gpu backend', () => {
    const c = workload('Deployment', 'atomizer-worker-gpu').spec.template.spec.containers[0] as Container;
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(c.image).toBe('atomizer-gpu');
    expect(flagValue(c.args ?? [], '--backend')).toBe('tensorflow-gpu');
  });

  it('runs Atomizer pods as the non-root user of the images, without privilege escalation', () => {
    const dockerfile = parseDockerfile(join(DOCKER_DIR, 'Dockerfile'));
    const users = new Set(
      dockerfile.stages
        .filter((s) => ['cpu', 'gpu'].includes(s.name))
        .map((s) => words(s.instructions.filter((i) => i.getKeyword() === 'USER').at(-1) as never)[0]?.split(':')[0]),
    );
    expect(users.size).toBe(1);
    for (const { w, c, where } of atomizerContainers) {
      expect(w.spec.template.spec.securityContext?.runAsNonRoot, where).toBe(true);
      expect(String(w.spec.template.spec.securityContext?.runAsUser), where).toBe([...users][0]);
      expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
      expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
      // tsx compiles into the temp dir: it must be writable
      expect(
        c.volumeMounts?.some((m) => m.mountPath === '/tmp'),
        `${where}: /tmp volume`,
      ).toBe(true);
    }
  });

  it('uses Atomizer images named after Dockerfile targets, each retargetable in kustomization.yaml', () => {
    const stages = parseDockerfile(join(DOCKER_DIR, 'Dockerfile')).stages.map((s) => s.name);
    const listed = (kustomization.images ?? []).map((i) => i.name);
    expect(atomizerContainers.length).toBeGreaterThan(0);
    for (const { c, where } of atomizerContainers) {
      expect(stages, where).toContain(c.image.replace(/^atomizer-/, ''));
      expect(listed, where).toContain(c.image);
    }
    for (const { c, where } of containers) {
      if (!/^atomizer-/.test(c.image))
        expect(c.image, `${where}: pin third-party images`).toMatch(/^[\w./-]+:(?!latest$)[\w.-]*\d[\w.-]*$/);
    }
  });

  it('gives Atomizer containers only commands and options the CLI accepts', async () => {
    const problems: string[] = [];
    for (const { c, where } of atomizerContainers) {
      expect(c.command, `${where}: keep the image's atomizer entrypoint (use args)`).toBeUndefined();
      problems.push(...(await checkInvocation(`k8s ${where} args`, c.args ?? [])));
    }
    expect(problems).toEqual([]);
  });

  it('gives Atomizer containers only environment variables the code reads (env and envFrom ConfigMaps)', async () => {
    const problems: string[] = [];
    for (const { c, where } of atomizerContainers) {
      const names = (c.env ?? []).map((e) => e.name);
      for (const ref of c.envFrom ?? []) {
        const data = ref.configMapRef !== undefined ? configMaps.get(ref.configMapRef.name) : undefined;
        expect(data, `${where}: envFrom must name a ConfigMap of infra/k8s`).toBeDefined();
        names.push(...Object.keys(data ?? {}));
      }
      problems.push(...(await checkEnvNames(`k8s ${where}`, names)));
    }
    expect(problems).toEqual([]);
  });

  it('reaches Redis at a Service of these manifests, on its port, without a password in the URL', () => {
    const env = configMaps.get('atomizer-env') ?? {};
    const url = new URL(env.REDIS_URL ?? '');
    expect(url.password).toBe('');
    const svc = resources.find((r) => r.doc.kind === 'Service' && (r.doc.metadata as { name: string }).name === url.hostname);
    expect(svc, `REDIS_URL host ${url.hostname}`).toBeDefined();
    const ports = (svc?.doc.spec as { ports: Array<{ port: number }> }).ports.map((p) => String(p.port));
    expect(ports).toContain(url.port || '6379');
  });

  it('has Services whose selectors match a workload and whose target ports are named container ports', () => {
    const services = resources
      .filter((r) => r.doc.kind === 'Service')
      .map(
        (r) =>
          r.doc as {
            metadata: { name: string };
            spec: { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> };
          },
      );
    for (const svc of services) {
      const matches = workloads.filter((w) =>
        Object.entries(svc.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
      );
      expect(matches.length, `Service ${svc.metadata.name} selects no workload`).toBe(1);
      const ports = (matches[0] as Workload).spec.template.spec.containers.flatMap((c) => c.ports ?? []);
      for (const p of svc.spec.ports) {
        expect(
          ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort),
          `Service ${svc.metadata.name} targetPort ${p.targetPort}`,
        ).toBe(true);
      }
    }
  });

  it('serves the dashboard on the port its --port names, behind a Service', () => {
    const c = workload('Deployment', 'atomizer-dashboard').spec.template.spec.containers[0] as Container;
    expect(flagValue(c.args ?? [], '--host')).toBe('0.0.0.0');
    expect(c.ports).toContainEqual({ name: 'http', containerPort: Number(flagValue(c.args ?? [], '--port')) });
    expect(c.env?.map((e) => e.name)).toContain('ATOMIZER_DASHBOARD_TOKEN');
  });

  it('runs the coordinator Job on run.yaml (generated ConfigMap) with --resume, and workers on its queues', () => {
    const job = workload('Job', 'atomizer-coordinator');
    const c = job.spec.template.spec.containers[0] as Container;
    expect(c.args?.[0]).toBe('train');
    expect(c.args).toContain('--resume');
    const config = flagValue(c.args ?? [], '--config') ?? '';
    const mount = c.volumeMounts?.find((m) => config.startsWith(`${m.mountPath}/`));
    const volume = job.spec.template.spec.volumes?.find((v) => v.name === mount?.name);
    const generator = kustomization.configMapGenerator?.find((g) => g.name === volume?.configMap?.name);
    const file = config.slice((mount?.mountPath.length ?? 0) + 1);
    expect(generator?.files, `${config} must come from a configMapGenerator file`).toContain(file);

    const cfg = parseRunConfig(parseYaml(readText(join(K8S_DIR, file))), `infra/k8s/${file}`);
    expect(cfg.run, 'a fixed run id, so a replaced coordinator pod resumes it').not.toBe('');
    const q = queueNames(cfg.queues.prefix, cfg.queues.train);
    for (const { c: w, where } of atomizerContainers.filter(({ c: x }) => x.args?.[0] === 'worker')) {
      expect(flagValue(w.args ?? [], '--queues'), where).toBe([...q.train, q.eval].join(','));
    }
  });
});
