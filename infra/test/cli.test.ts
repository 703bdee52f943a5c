// The drift checks themselves can fail: a wrong option, a missing value, a switch given a
// value, an unknown command or an environment variable no code reads is reported.
import { describe, expect, it } from 'vitest';
import { checkEnvNames, checkInvocation, cliCommands, commandSpec, parseCommandHelp } from './cli.js';

describe('drift checks', () => {
  it('reads commands and options from the real CLI', async () => {
    expect(await cliCommands()).toEqual(expect.arrayContaining(['shard', 'model']));
    const shard = await commandSpec('shard');
    expect(shard.source).toBe('cli');
    expect(shard.options.get('--shard-size')).toBe('required');
  });

  it('reports an unknown option, a missing value, a valued switch, extra positionals and an unknown command', async () => {
    expect(await checkInvocation('t', ['shard', '--dataset', 'statlog:x.csv', '--out', '/tmp/x'])).toEqual([]);
    expect((await checkInvocation('t', ['shard', '--shards', '4'])).join()).toMatch(/has no option --shards/);
    expect((await checkInvocation('t', ['shard', '--out', '--name', 'x'])).join()).toMatch(/--out .* needs a value/);
    expect((await checkInvocation('t', ['model', '--json=yes'])).join()).toMatch(/--json .* takes no value/);
    expect((await checkInvocation('t', ['model', 'extra'])).join()).toMatch(/takes 0 positional/);
    expect((await checkInvocation('t', ['trian', '--config', 'x'])).join()).toMatch(/no command 'trian'/);
  });

  it('parses commander help: required, optional and switch options, positionals', () => {
    const spec = parseCommandHelp(
      'Usage: atomizer atoms [options] <path>\n\nOptions:\n  --sensor <id>      sensor\n  --bands [list]     bands\n                     (wrapped)\n  --json             json\n  -h, --help         help\n',
    );
    expect([...spec.options]).toEqual([
      ['--sensor', 'required'],
      ['--bands', 'optional'],
      ['--json', 'none'],
      ['--help', 'none'],
    ]);
    expect(spec.positionals).toBe(1);
    const withChoices = parseCommandHelp(
      'Usage: atomizer worker [options]\n\nOptions:\n  --backend <name>  TensorFlow.js backend (choices: "auto",\n                    "wasm", "tensorflow-gpu", default: "auto")\n',
    );
    expect(withChoices.choices.get('--backend')).toEqual(['auto', 'wasm', 'tensorflow-gpu']);
  });

  it('reports environment variables no code reads, and accepts the ones it does', async () => {
    expect(await checkEnvNames('t', ['REDIS_URL', 'REDIS_PASSWORD', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID'])).toEqual([]);
    expect((await checkEnvNames('t', ['REDIS_PASSWD'])).join()).toMatch(/REDIS_PASSWD is read by no code/);
  });
});
