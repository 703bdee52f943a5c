import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commanderErrorLine, errorLine, oneLine } from './cli-errors.js';
import { COMMANDS, invokedCommand, registerCommands } from './commands/index.js';
import { runCli, runNode, type CliRun } from './commands/run-cli.js';

const CLI_TS = fileURLToPath(new URL('./cli.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * Run src/cli.ts with module hooks that make importing any of `forbidden` fail: what the
 * command loads is then seen from outside, whatever the launcher picks.
 */
async function runRefusing(forbidden: string[], args: string[]): Promise<CliRun> {
  const dir = await mkdtemp(join(tmpdir(), 'atomizer-cli-hooks-'));
  const hooks = join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    `const forbidden = ${JSON.stringify(forbidden)};
export async function resolve(specifier, context, next) {
  if (forbidden.includes(specifier)) throw new Error('loaded ' + specifier);
  return next(specifier, context);
}
`,
  );
  const register = join(dir, 'register.mjs');
  await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return runNode(['--conditions=@atomizer/source', '--import', TSX, '--import', pathToFileURL(register).href, CLI_TS, ...args]);
}

describe('atomizer --help', () => {
  it('lists every command without loading TensorFlow.js, the AWS SDK or BullMQ', async () => {
    const r = await runRefusing(['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@aws-sdk/client-s3', 'bullmq', 'ioredis'], ['--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name} \\[options\\]`, 'm'));
    expect(r.stdout).toContain('atoms [options] <path>');
  });

  it('a command loads only what it needs: report does not load TensorFlow.js', async () => {
    const r = await runRefusing(['@tensorflow/tfjs', '@tensorflow/tfjs-core'], ['report', '--help']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('--inline');
  });

  it("'help <command>' and '<command> --help' show that command's options", async () => {
    for (const args of [
      ['help', 'export'],
      ['export', '--help'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: atomizer export \[options\]/);
      expect(r.stdout).toContain("Write a run's checkpoint as a PyTorch model");
      expect(r.stdout).toContain('--checkpoint <latest|round>');
    }
  });
});

describe('the command registry', () => {
  it('finds the invoked command after the program options, and after help', () => {
    expect(invokedCommand(['train', '--json'])?.name).toBe('train');
    expect(invokedCommand(['--help'])).toBeUndefined();
    expect(invokedCommand(['help', 'shard'])?.name).toBe('shard');
    expect(invokedCommand(['trian'])).toBeUndefined();
  });

  it('loads each command with its own name, and registers the others by name and summary', async () => {
    for (const entry of COMMANDS) {
      const program = new Command();
      const loaded = await registerCommands(program, [entry.name]);
      expect(loaded?.name()).toBe(entry.name);
      expect(loaded?.description()).toBe(entry.summary);
      expect(loaded?.options.length, entry.name).toBeGreaterThan(0);
      expect(program.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
      expect(program.commands.filter((c) => c.options.length > 0)).toEqual([loaded]);
    }
  }, 120_000);
});

describe('atomizer --version', () => {
  it('prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('errors are one line: atomizer:, what was wrong, a hint', () => {
  it("commander's own: unknown option, unknown command with a suggestion, missing option", async () => {
    const bad = await runCli(['train', '--bogus']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("atomizer: unknown option '--bogus' (see atomizer train --help)\n");
    const unknown = await runCli(['trian']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("atomizer: unknown command 'trian'; did you mean train? (see atomizer --help)\n");
    const missing = await runCli(['shard', '--dataset', 'statlog:x.csv']);
    expect(missing.stderr).toBe("atomizer: required option '--out <location>' not specified (see atomizer shard --help)\n");
  });

  it("ours: a config file's problems on one line", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-cli-config-'));
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'train:\n  rouds: 3\n  lr: fast\n');
    const r = await runCli(['train', '--config', bad, '--executor', 'in-process']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([
      `atomizer: ${bad} is invalid: train.lr: Invalid input: expected number, received string, got "fast"; train.rouds: unknown key; did you mean train.rounds? (see atomizer train --help)`,
    ]);
  });

  it('formats commander text, multi-line messages and zod errors', () => {
    expect(commanderErrorLine("error: unknown option '--jsn'\n(Did you mean --json?)\n", 'report')).toBe(
      "atomizer: unknown option '--jsn'; did you mean --json? (see atomizer report --help)\n",
    );
    expect(oneLine('x is invalid:\n  a: wrong\n  b: wrong\n')).toBe('x is invalid: a: wrong; b: wrong');
    expect(errorLine(new Error('no run r1 in the store; list the runs with --help'), 'report')).toBe(
      'atomizer: no run r1 in the store; list the runs with --help\n',
    );
    const zod = z.strictObject({ rounds: z.number() }).safeParse({ rounds: 'x', extra: 1 });
    expect(zod.success).toBe(false);
    const line = errorLine(zod.error, 'train');
    expect(line).toMatch(/^atomizer: invalid input: [^\n]+ \(see atomizer train --help\)\n$/);
    expect(line).toContain('expected number, received string at rounds');
    expect(line).toContain('Unrecognized key: "extra"');
  });
});
