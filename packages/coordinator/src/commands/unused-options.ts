import type { Command } from 'commander';

// An option a command would not use with the other options given is refused, not
// ignored: `train --backend wasm` without `--executor in-process` trained on the workers'
// backends while the user believed otherwise. Only options given on the command line are
// checked (a default or an environment variable set for every command is not a choice).

export interface OptionRule<O> {
  /** Attribute name of the option, e.g. 'backend'. */
  option: string;
  /** Whether the option is used with these options. */
  applies: (opts: O) => boolean;
  /** When it is used, e.g. 'with --executor in-process'. */
  when: string;
}

/** Throw, naming the option and when it applies, for the first option given on the command line that these options leave unused. */
export function refuseUnusedOptions<O>(cmd: Command, opts: O, rules: ReadonlyArray<OptionRule<O>>): void {
  for (const rule of rules) {
    if (cmd.getOptionValueSource(rule.option) !== 'cli' || rule.applies(opts)) continue;
    const flag = cmd.options.find((o) => o.attributeName() === rule.option)?.long ?? rule.option;
    throw new Error(`${flag} is used only ${rule.when}: drop it, or give what it needs`);
  }
}
