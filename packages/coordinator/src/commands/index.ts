import type { Command } from 'commander';

/** Every subcommand of `atomizer`, one file each in this folder. */
export function registerCommands(program: Command): void {
  void program;
}
