import { BACKEND_CHOICES } from '@atomizer/model';
import { Option } from 'commander';

// `--backend <name>`: the TensorFlow.js backend, one definition for every command that
// computes (train --executor in-process, demo, worker, launch, eval, predict, model). Its
// own file: the choices come from @atomizer/model, which commands that never compute
// (report, shard, export ...) must not load.

/** `--backend <name>`, default auto; `what` says whose backend it is when not this process's. */
export function backendOption(
  what = 'TensorFlow.js backend (auto picks the fastest available)',
  dflt: string | undefined = 'auto',
): Option {
  const opt = new Option('--backend <name>', what).choices([...BACKEND_CHOICES]);
  return dflt !== undefined ? opt.default(dflt) : opt;
}
