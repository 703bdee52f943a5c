import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parseRunConfig, runConfigLeaves, setPath, type RunConfig, type RunConfigLeaf } from '@atomizer/protocol';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { PRESET_NAMES, presetPath, resolveBundledData } from '../presets.js';
import type { OptionRule } from './unused-options.js';

// The run config as commands take it (train, demo): every run-config value has a flag (from
// the schema in @atomizer/protocol), a YAML/JSON file (--config) may set them, flags win.

/**
 * Read a run config file (YAML or JSON; a bundled preset name such as
 * 'statlog' also works). Relative paths: dataset.modalities from the file's
 * folder, dataset.source's '../shared/data/' to the bundled data folder, other
 * relative dataset paths from the working directory.
 */
export async function readRunConfigFile(nameOrPath: string): Promise<Record<string, unknown>> {
  const path = (PRESET_NAMES as readonly string[]).includes(nameOrPath) ? presetPath(nameOrPath) : resolve(nameOrPath);
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new Error(`${path}: cannot read the run config (${err instanceof Error ? err.message : String(err)})`);
  });
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${path}: not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'} (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${path}: a run config must be a mapping of sections (dataset, model, train, ...)`);
  const cfg = raw as { dataset?: { modalities?: unknown; source?: unknown } };
  if (typeof cfg.dataset?.modalities === 'string' && cfg.dataset.modalities !== '' && !isAbsolute(cfg.dataset.modalities)) {
    cfg.dataset.modalities = resolve(dirname(path), cfg.dataset.modalities);
  }
  if (typeof cfg.dataset?.source === 'string') cfg.dataset.source = resolveBundledData(cfg.dataset.source);
  parseRunConfig(raw, path); // report every wrong field with the file's name now
  return raw as Record<string, unknown>;
}

function parseBool(flag: string, v: string | boolean | undefined): boolean {
  if (v === undefined || v === true) return true;
  if (v === false) return false;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new Error(`${flag} takes true or false, got '${v}'`);
}

/** The flag of one run-config leaf, e.g. `--train-rounds <n>`; its value is read as `cfg:<flag name>` (no commander default: a flag given overrides the file). */
export function leafOption(leaf: RunConfigLeaf): Option {
  const dflt = `(default: ${JSON.stringify(leaf.defaultValue)})`;
  let opt: Option;
  if (leaf.kind === 'boolean') opt = new Option(`${leaf.flag} [bool]`, `${leaf.description} ${dflt}`);
  else if (leaf.kind === 'number') opt = new Option(`${leaf.flag} <n>`, `${leaf.description} ${dflt}`);
  else opt = new Option(`${leaf.flag} <value>`, `${leaf.description} ${dflt}`);
  if (leaf.choices !== undefined) opt = opt.choices([...leaf.choices]);
  opt.attributeName = () => leafKey(leaf);
  return opt;
}

/** Where commander keeps a leaf flag's value in the command's options. */
export function leafKey(leaf: Pick<RunConfigLeaf, 'flag'>): string {
  return `cfg:${leaf.flag.replace(/^--/, '')}`;
}

/** The leaf at a dotted path, e.g. 'model.preset'. */
export function runConfigLeaf(path: string): RunConfigLeaf {
  const leaf = runConfigLeaves().find((l) => l.path === path);
  if (leaf === undefined) throw new Error(`the run config has no ${path}`);
  return leaf;
}

/** The config flags, one per run-config leaf. */
export function addRunConfigOptions(cmd: Command): Command {
  for (const leaf of runConfigLeaves()) cmd.addOption(leafOption(leaf));
  return cmd;
}

/** What names the given config values in errors: the --config file, else the flags. */
export function configSource(opts: Record<string, unknown>): string {
  return typeof opts.config === 'string' ? opts.config : 'run config flags';
}

/** The config values the user gave: the --config file's keys under the flags given; no defaults. */
export async function givenTrainConfig(opts: Record<string, unknown>): Promise<Record<string, unknown>> {
  const base = typeof opts.config === 'string' ? await readRunConfigFile(opts.config) : {};
  for (const leaf of runConfigLeaves()) {
    const v = opts[leafKey(leaf)];
    if (v === undefined) continue;
    let value: unknown = v;
    if (leaf.kind === 'number') {
      value = Number(v);
      if (!Number.isFinite(value as number)) throw new Error(`${leaf.flag} takes a number, got '${String(v)}'`);
    } else if (leaf.kind === 'boolean') value = parseBool(leaf.flag, v as string | boolean);
    else if (leaf.path === 'dataset.source') value = resolveBundledData(String(v));
    else if (leaf.path === 'dataset.modalities' && v !== '') value = resolve(String(v));
    setPath(base, leaf.path, value);
  }
  return base;
}

/** Defaults < file < flags, validated. */
export async function resolveTrainConfig(opts: Record<string, unknown>): Promise<RunConfig> {
  return parseRunConfig(await givenTrainConfig(opts), configSource(opts));
}

const localMode = (c: RunConfig): boolean => c.train.mode === 'local';

/** Run-config flags that only some configs use: given on the command line for another config, they are refused (unused-options.ts). */
export function runConfigRules(): Array<OptionRule<RunConfig>> {
  const key = (path: string): string => leafKey(runConfigLeaf(path));
  const inLocal = 'in local mode (--train-mode local)';
  return [
    { option: key('train.localSteps'), applies: localMode, when: inLocal },
    { option: key('train.innerState'), applies: localMode, when: inLocal },
    { option: key('train.outerKind'), applies: localMode, when: inLocal },
    { option: key('train.outerLr'), applies: localMode, when: inLocal },
    {
      option: key('train.outerMomentum'),
      applies: (c) => localMode(c) && c.train.outerKind !== 'mean',
      when: 'in local mode with a momentum outer optimizer (--train-outer-kind momentum or nesterov)',
    },
    { option: key('train.augmentJitterNm'), applies: (c) => c.train.augment, when: 'with spectral augmentation (--train-augment)' },
  ];
}
