// Loading the infra files as the tools that use them would: Compose files after
// variable interpolation, Kubernetes manifests (multi-document YAML), Dockerfiles by stage.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const INFRA = join(ROOT, 'infra');
export const COMPOSE_DIR = join(INFRA, 'compose');
export const K8S_DIR = join(INFRA, 'k8s');
export const DOCKER_DIR = join(INFRA, 'docker');

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readText(path)) as T;
}

export function listFiles(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** KEY=VALUE lines of a dotenv file (comments and blank lines skipped). */
export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of readText(path).split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m === null) throw new Error(`${path}:${i + 1}: expected KEY=VALUE, got ${JSON.stringify(line)}`);
    out[m[1] as string] = (m[2] as string).replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

export interface ComposeVariable {
  name: string;
  /** ':-' / '-' default, ':?' / '?' required, '' plain. */
  op: string;
  arg: string;
}

const VAR = /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** Every ${VAR...} / $VAR a Compose file interpolates ('$$' is an escaped '$'). */
export function composeVariables(text: string): ComposeVariable[] {
  const out: ComposeVariable[] = [];
  for (const m of text.matchAll(VAR)) {
    if (m[1] === '$') continue;
    out.push({ name: (m[2] ?? m[5]) as string, op: m[3] ?? '', arg: m[4] ?? '' });
  }
  return out;
}

/**
 * Compose's interpolation (compose-spec "Interpolation"): ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR and '$$' for a literal '$'.
 * Applied to the text before YAML parsing, which is equivalent for files whose
 * interpolated values are plain scalars (ours).
 */
export function interpolateCompose(text: string, env: Record<string, string | undefined>, file: string): string {
  return text.replace(VAR, (whole, dollar: string, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (dollar === '$') return '$';
    const name = (braced ?? bare) as string;
    const value = env[name];
    const unsetOrEmpty = value === undefined || value === '';
    switch (op) {
      case ':-':
        return unsetOrEmpty ? (arg ?? '') : value;
      case '-':
        return value === undefined ? (arg ?? '') : value;
      case ':?':
      case '?':
        if (op === ':?' ? unsetOrEmpty : value === undefined) {
          throw new Error(`${file}: required variable ${name} is not set (${arg ?? ''}) in ${whole}`);
        }
        return value as string;
      default:
        return value ?? '';
    }
  });
}

/** A Compose file parsed after interpolation with `env` (YAML merge keys '<<' resolved, as Compose does). */
export function loadCompose(path: string, env: Record<string, string | undefined>): Record<string, unknown> {
  const text = interpolateCompose(readText(path), env, path);
  return parseYaml(text, { merge: true }) as Record<string, unknown>;
}

export interface K8sDoc {
  file: string;
  index: number;
  doc: Record<string, unknown>;
}

/** Every YAML document of the Kubernetes resources listed in infra/k8s/kustomization.yaml. */
export function loadK8sResources(): K8sDoc[] {
  const kustomization = loadKustomization();
  const out: K8sDoc[] = [];
  for (const res of kustomization.resources) {
    const file = join(K8S_DIR, res);
    parseAllDocuments(readText(file)).forEach((d, index) => {
      if (d.errors.length > 0) throw new Error(`${file} document ${index + 1}: ${d.errors.map((e) => e.message).join('; ')}`);
      const doc = d.toJS() as Record<string, unknown> | null;
      if (doc !== null) out.push({ file, index, doc });
    });
  }
  return out;
}

export interface Kustomization {
  resources: string[];
  configMapGenerator?: Array<{ name: string; files?: string[]; literals?: string[] }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  namespace?: string;
}

export function loadKustomization(): Kustomization {
  return parseYaml(readText(join(K8S_DIR, 'kustomization.yaml'))) as Kustomization;
}

export interface DockerStage {
  name: string;
  /** Image or earlier stage this stage starts FROM, with ARG defaults substituted. */
  from: string;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  path: string;
  /** Global ARGs (before the first FROM) with their defaults. */
  args: Record<string, string>;
  stages: DockerStage[];
}

export function parseDockerfile(path: string): ParsedDockerfile {
  const df = DockerfileParser.parse(readText(path));
  const args: Record<string, string> = {};
  const stages: DockerStage[] = [];
  for (const ins of df.getInstructions()) {
    const keyword = ins.getKeyword();
    if (keyword === 'FROM') {
      const words = ins.getArguments().map((a) => a.getValue());
      const image = (words[0] ?? '').replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => args[(a ?? b) as string] ?? '');
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      const name = asIndex >= 0 ? (words[asIndex + 1] ?? '') : `#${stages.length}`;
      stages.push({ name, from: image, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage === undefined) {
      if (keyword !== 'ARG') throw new Error(`${path}: ${keyword} before the first FROM`);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.getArgumentsContent() ?? '');
      if (m !== null) args[m[1] as string] = m[2] ?? '';
      continue;
    }
    stage.instructions.push(ins);
  }
  return { path, args, stages };
}

/** The words of an instruction's arguments (JSON form or shell form). */
export function words(ins: Instruction): string[] {
  return ins.getArguments().map((a) => a.getValue());
}

/** Expand a workspace glob list ('packages/*', 'infra') to the folders that hold a package.json. */
export function workspaceDirs(): string[] {
  const pkg = readJson<{ workspaces: string[] }>(join(ROOT, 'package.json'));
  const out: string[] = [];
  for (const pattern of pkg.workspaces) {
    if (pattern.endsWith('/*')) {
      const base = pattern.slice(0, -2);
      for (const d of readdirSync(join(ROOT, base)).sort()) {
        if (existsSync(join(ROOT, base, d, 'package.json'))) out.push(`${base}/${d}`);
      }
    } else if (existsSync(join(ROOT, pattern, 'package.json'))) {
      out.push(pattern);
    }
  }
  return out;
}
