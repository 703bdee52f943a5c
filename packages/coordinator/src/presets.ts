import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunConfig, type RunConfig } from '@atomizer/protocol';
import { loadModalityListsFile, sharedDataDir, type ModalityLists } from '@atomizer/tokenizer';
import { parse as parseYaml } from 'yaml';

// Bundled run-config presets (packages/coordinator/presets/*.yaml, issue 5):
// `statlog` (the demo's default: Landsat MSS, seen vs unseen bands and
// resolutions) and `sen2-scene` (Sentinel-2 scene with polygons). A preset is
// a plain RunConfig YAML that `atomizer train --config` reads as well; this
// module finds one by name and resolves its relative paths:
//   dataset.modalities  relative to the preset file's folder;
//   dataset.source      '../shared/data/' (how the files name the bundled data,
//                       relative to the repository root) -> the bundled data
//                       folder found by sharedDataDir() (ATOMIZER_DATA honoured).

export const PRESET_NAMES = ['statlog', 'statlog-all-bands', 'sen2-scene', 'sen2-sensors', 'sen2-transfer'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const BUNDLED_DATA_PREFIX = '../shared/data/';

/** The folder holding the preset YAML files. */
export function presetsDir(): string {
  return fileURLToPath(new URL('../presets/', import.meta.url));
}

/** The YAML file of a bundled preset; an unknown name is an Error listing the known ones. */
export function presetPath(name: string): string {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown preset '${name}'; bundled presets: ${PRESET_NAMES.join(', ')}`);
  }
  return resolve(presetsDir(), `${name}.yaml`);
}

/** A dataset spec with every '../shared/data/' path (the path and query values) pointed at the bundled data folder. */
export function resolveBundledData(source: string): string {
  if (!source.includes(BUNDLED_DATA_PREFIX)) return source;
  const dir = sharedDataDir();
  return source.replace(/(^[a-z]+:|=)\.\.\/shared\/data\//g, (_m, lead: string) => `${lead}${dir}/`);
}

export interface LoadedPreset {
  /** The YAML file read. */
  path: string;
  /** The run config with absolute paths (dataset.source, dataset.modalities). */
  config: RunConfig;
  /** The modality lists, resolved and checked disjoint. */
  modalities: ModalityLists;
}

/** Read a run-config YAML file (a bundled preset name or a path), resolve its paths and its modality lists. */
export async function loadPreset(nameOrPath: string): Promise<LoadedPreset> {
  const path = (PRESET_NAMES as readonly string[]).includes(nameOrPath) ? presetPath(nameOrPath) : resolve(nameOrPath);
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new Error(`${path}: cannot read the run config (${err instanceof Error ? err.message : String(err)})`);
  });
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`${path}: not valid YAML (${err instanceof Error ? err.message : String(err)})`);
  }
  const config = parseRunConfig(raw, path);
  if (config.dataset.modalities === '') {
    throw new Error(`${path}: dataset.modalities is empty; a preset names its modality lists file`);
  }
  const modalitiesPath = isAbsolute(config.dataset.modalities)
    ? config.dataset.modalities
    : resolve(dirname(path), config.dataset.modalities);
  config.dataset.modalities = modalitiesPath;
  config.dataset.source = resolveBundledData(config.dataset.source);
  const modalities = await loadModalityListsFile(modalitiesPath);
  return { path, config, modalities };
}
