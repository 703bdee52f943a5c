// The truth about the `atomizer` CLI, taken from the CLI itself (`--help` of the real
// bin, so renaming a flag breaks the infra test), and the environment variable names the
// code reads (from the sources and the libraries that read them).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REDIS_ENV } from '@atomizer/protocol/redis';
import { ROOT } from './repo.js';

const run = promisify(execFile);
export const BIN = join(ROOT, 'packages/coordinator/bin/atomizer.js');

/** How an option takes its value: `--x <v>` required, `--x [v]` optional, `--x` none (a switch). */
export type OptionArity = 'required' | 'optional' | 'none';

export interface CommandSpec {
  options: Map<string, OptionArity>;
  /** Allowed values of options declared with choices (commander prints '(choices: "a", "b")'). */
  choices: Map<string, string[]>;
  /** Positional arguments the command accepts (from its usage line). */
  positionals: number;
  /** Where the spec came from: 'cli' (the real --help) or 'planned'. */
  source: 'cli' | 'planned';
}

async function help(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, ...args, '--help'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    maxBuffer: 1 << 20,
  });
  return stdout;
}

function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${title}:`);
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || !line.startsWith(' ')) break;
    out.push(line);
  }
  return out;
}

/** Subcommand names listed by `atomizer --help`. */
export function parseCommandList(text: string): string[] {
  return section(text, 'Commands')
    .map((l) => /^ {2}([a-z][\w-]*)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n !== 'help');
}

/** Options and positional count from `atomizer <cmd> --help` (commander's layout). */
export function parseCommandHelp(text: string): Omit<CommandSpec, 'source'> {
  const options = new Map<string, OptionArity>();
  const descriptions = new Map<string, string>();
  let current: string | undefined;
  for (const line of section(text, 'Options')) {
    const m = /^ {2}(?:-\w, )?(--[\w-]+)(?: (<[^>]+>|\[[^\]]+\]))?/.exec(line);
    if (m === null) {
      if (current !== undefined) descriptions.set(current, `${descriptions.get(current) ?? ''} ${line.trim()}`);
      continue;
    }
    current = m[1] as string;
    const arity: OptionArity = m[2] === undefined ? 'none' : m[2].startsWith('<') ? 'required' : 'optional';
    options.set(current, arity);
    descriptions.set(current, line.slice(m[0].length).trim());
  }
  const choices = new Map<string, string[]>();
  for (const [flag, description] of descriptions) {
    const list = /\(choices: ((?:"[^"]*"(?:, )?)+)/.exec(description)?.[1];
    if (list !== undefined)
      choices.set(
        flag,
        [...list.matchAll(/"([^"]*)"/g)].map((x) => x[1] as string),
      );
  }
  const usage = /^Usage: \S+ \S+ (.*)$/m.exec(text)?.[1] ?? '';
  const positionals = (usage.match(/<[^>]+>|\[(?!options\])[^\]]+\]/g) ?? []).length;
  return { options, choices, positionals };
}

let commandList: Promise<string[]> | undefined;
const specs = new Map<string, Promise<CommandSpec>>();

export function cliCommands(): Promise<string[]> {
  commandList ??= help([]).then(parseCommandList);
  return commandList;
}

/**
 * The CLI surface the engine (issue 4) is adding, as planned. Used only while a command is
 * missing from the real CLI: as soon as `atomizer --help` lists it, its own --help is the
 * truth and these entries are no longer read (delete them then).
 */
export const PLANNED_COMMANDS: Record<string, Record<string, OptionArity>> = {};

/** The options of `atomizer <cmd>`: from its --help when the CLI has it, else the planned surface. */
export function commandSpec(cmd: string): Promise<CommandSpec> {
  let p = specs.get(cmd);
  if (p === undefined) {
    p = cliCommands().then(async (names) => {
      if (names.includes(cmd)) return { ...parseCommandHelp(await help([cmd])), source: 'cli' as const };
      const planned = PLANNED_COMMANDS[cmd];
      if (planned === undefined) {
        throw new Error(`atomizer has no command '${cmd}' (it has: ${names.join(', ')}) and none is planned`);
      }
      return {
        options: new Map(Object.entries(planned)),
        choices: new Map<string, string[]>(),
        positionals: 0,
        source: 'planned' as const,
      };
    });
    specs.set(cmd, p);
  }
  return p;
}

/**
 * Problems with `atomizer <args>` as an image command: unknown subcommand or option,
 * a missing option value, a value given to a switch, unexpected positional arguments.
 */
export async function checkInvocation(where: string, args: readonly string[]): Promise<string[]> {
  const [cmd, ...rest] = args;
  if (cmd === undefined) return [`${where}: no atomizer command (expected e.g. ["worker", ...])`];
  let spec: CommandSpec;
  try {
    spec = await commandSpec(cmd);
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  let positionals = 0;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (!arg.startsWith('--')) {
      positionals++;
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const arity = spec.options.get(flag) ?? (flag.startsWith('--no-') ? spec.options.get(`--${flag.slice(5)}`) && 'none' : undefined);
    if (arity === undefined) {
      problems.push(
        `${where}: 'atomizer ${cmd}' has no option ${flag} (${spec.source === 'cli' ? 'its --help lists' : 'planned'}: ${[...spec.options.keys()].join(' ')})`,
      );
      continue;
    }
    if (arity === 'none' && inline !== undefined) problems.push(`${where}: ${flag} of 'atomizer ${cmd}' takes no value`);
    if (arity === 'required') {
      const value = inline ?? rest[i + 1];
      if (value === undefined || value.startsWith('--')) problems.push(`${where}: ${flag} of 'atomizer ${cmd}' needs a value`);
      else {
        if (inline === undefined) i++;
        const allowed = spec.choices.get(flag);
        if (allowed !== undefined && !allowed.includes(value)) {
          problems.push(`${where}: ${flag} ${value} is not one of 'atomizer ${cmd}' choices: ${allowed.join(', ')}`);
        }
      }
    }
    if (arity === 'optional' && inline === undefined && rest[i + 1] !== undefined && !(rest[i + 1] as string).startsWith('--')) i++;
  }
  if (positionals > spec.positionals) {
    problems.push(`${where}: 'atomizer ${cmd}' takes ${spec.positionals} positional argument(s), got ${positionals}`);
  }
  return problems;
}

/** The value given to `flag` in an argument list, if any. */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === flag) return args[i + 1];
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return undefined;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js)$/.test(entry) && !/\.test\.ts$/.test(entry)) out.push(path);
  }
  return out;
}

/**
 * Environment variable names the project's own code reads or names: process.env.X,
 * process.env['X'], env('X') and quoted all-caps names like 'REDIS_URL' (a commander
 * `.env('X')` or a lookup table) in packages/<pkg>/{src,bin}, plus @atomizer/protocol's
 * REDIS_ENV list.
 */
export function envNamesInSource(): Set<string> {
  const names = new Set<string>(Object.values(REDIS_ENV));
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    for (const sub of ['src', 'bin']) {
      let files: string[];
      try {
        files = sourceFiles(join(ROOT, 'packages', pkg, sub));
      } catch {
        continue;
      }
      for (const file of files) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(
          /process\.env\.([A-Z][A-Z0-9_]*)|process\.env\[['"]([A-Z][A-Z0-9_]*)['"]\]|['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]/g,
        )) {
          names.add((m[1] ?? m[2] ?? m[3]) as string);
        }
      }
    }
  }
  return names;
}

/**
 * Names read by a library rather than our code, each with the file that proves it
 * (searched for the name) or, for native/container runtimes not installed here, the
 * document that explains it.
 */
export const LIBRARY_ENV: Record<string, { reader: string; proof: { module?: string; file?: string } }> = {
  AWS_ACCESS_KEY_ID: { reader: 'AWS SDK credential chain', proof: { module: '@aws-sdk/credential-provider-env' } },
  AWS_SECRET_ACCESS_KEY: { reader: 'AWS SDK credential chain', proof: { module: '@aws-sdk/credential-provider-env' } },
  AWS_SESSION_TOKEN: { reader: 'AWS SDK credential chain', proof: { module: '@aws-sdk/credential-provider-env' } },
  TF_FORCE_GPU_ALLOW_GROWTH: { reader: 'libtensorflow (tfjs-node-gpu)', proof: { file: 'docs/gpu.md' } },
  TF_CPP_MIN_LOG_LEVEL: { reader: 'libtensorflow (tfjs-node)', proof: { file: 'docs/gpu.md' } },
  CUDA_VISIBLE_DEVICES: { reader: 'CUDA runtime', proof: { file: 'docs/gpu.md' } },
  NVIDIA_VISIBLE_DEVICES: { reader: 'NVIDIA container runtime', proof: { file: 'docs/cluster.md' } },
  NVIDIA_DRIVER_CAPABILITIES: { reader: 'NVIDIA container runtime', proof: { file: 'docs/cluster.md' } },
  NODE_ENV: { reader: 'Node.js libraries (production mode)', proof: { file: 'docs/cluster.md' } },
};

/** Check that a LIBRARY_ENV entry's proof really names the variable. */
export function libraryEnvProven(name: string): string | undefined {
  const entry = LIBRARY_ENV[name];
  if (entry === undefined) return `${name} is not a known library variable`;
  let path: string;
  if (entry.proof.module !== undefined) {
    const req = createRequire(join(ROOT, 'packages/protocol/package.json'));
    const awsSdk = req.resolve('@aws-sdk/client-s3');
    path = createRequire(awsSdk).resolve(entry.proof.module);
  } else {
    path = join(ROOT, entry.proof.file as string);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `${name}: cannot read ${path} (${(err as Error).message})`;
  }
  return text.includes(name) ? undefined : `${name}: ${path} does not mention it (${entry.reader})`;
}

/**
 * Names the engine's commands will read (planned surface): accepted only while the command
 * that reads them is missing from the CLI; once it exists the name must be in the sources.
 */
export const PLANNED_ENV: Record<string, string> = {};

/** Problems with environment variable names given to an Atomizer container. */
export async function checkEnvNames(where: string, names: Iterable<string>): Promise<string[]> {
  const inSource = envNamesInSource();
  const commands = await cliCommands();
  const problems: string[] = [];
  for (const name of names) {
    if (inSource.has(name)) continue;
    if (name in LIBRARY_ENV) {
      const p = libraryEnvProven(name);
      if (p !== undefined) problems.push(`${where}: ${p}`);
      continue;
    }
    const reader = PLANNED_ENV[name];
    if (reader !== undefined && !commands.includes(reader)) continue;
    problems.push(
      `${where}: environment variable ${name} is read by no code (not in packages/*/src or bin, not a known library variable${
        reader !== undefined ? `; 'atomizer ${reader}' exists now and does not read it` : ''
      })`,
    );
  }
  return problems;
}

/** Environment names that hold secrets: they must come from a Secret / .env, never a literal. */
export const SECRET_NAME = /PASSWORD|SECRET|TOKEN|ACCESS_KEY|PRIVATE|CREDENTIAL|AUTH/i;
