import type { Command } from 'commander';
import { atomsCommand } from './atoms.js';
import { dashboardCommand } from './dashboard.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { predictCommand } from './predict.js';
import { reportCommand } from './report.js';
import { modelCommand } from './model.js';
import { shardCommand } from './shard.js';
import { launchCommand } from './launch.js';
import { trainCommand } from './train.js';
import { workerCommand } from './worker.js';

/** Every subcommand of `atomizer`, one file each in this folder. */
export function registerCommands(program: Command): void {
  // tokenizer commands: demo, atoms, shard
  program.addCommand(demoCommand());
  program.addCommand(atomsCommand());
  program.addCommand(shardCommand());
  // model commands: model
  program.addCommand(modelCommand());
  // distributed training: coordinator and worker
  program.addCommand(trainCommand());
  program.addCommand(workerCommand());
  program.addCommand(launchCommand());
  // evaluating, applying, exporting and reporting on a run: any checkpoint on any dataset, maps of scenes, PyTorch, plots
  program.addCommand(evalCommand());
  program.addCommand(predictCommand());
  program.addCommand(exportCommand());
  program.addCommand(reportCommand());
  // watching a run: training page, bull-board, Prometheus
  program.addCommand(dashboardCommand());
}
