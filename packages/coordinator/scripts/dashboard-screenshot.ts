// Screenshot of the training dashboard for docs/dashboard.png.
//
//   npx tsx --conditions=@atomizer/source packages/coordinator/scripts/dashboard-screenshot.ts [--out docs/dashboard.png]
//       starts its own redis-server and S3 server, writes a sample run (SampleRun: the
//       dashboard tests' writer, made-up numbers in the coordinator's formats) and shoots it;
//   ... dashboard-screenshot.ts --url http://127.0.0.1:8080/ [--token <t>] [--out file.png]
//       shoots a dashboard that is already running (a real run: `atomizer demo --keep`).
//
// Needs Debian's chromium (apt-get install -y chromium).
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectRedis, startEmbeddedRedis } from '@atomizer/protocol/redis';
import { startEmbeddedS3 } from '@atomizer/protocol/embedded';
import { startDashboard } from '../src/dashboard/server.js';
import { launchChromium } from '../src/dashboard/testing/browser.js';
import { SampleRun } from '../src/dashboard/testing/sample-run.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(repoRoot, 'docs', 'dashboard.png') },
    url: { type: 'string' },
    token: { type: 'string' },
    width: { type: 'string', default: '1440' },
    height: { type: 'string', default: '1000' },
  },
});

const cleanups: Array<() => Promise<unknown>> = [];
try {
  let url = values.url;
  if (url === undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-dashboard-shot-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const redisServer = await startEmbeddedRedis();
    cleanups.push(() => redisServer.stop());
    const s3 = await startEmbeddedS3({ dir });
    cleanups.push(() => s3.stop());
    const redis = connectRedis(redisServer.url);
    cleanups.push(() => redis.quit());
    const store = s3.store();
    const run = new SampleRun({ store, redis, run: 'statlog-demo', rounds: 30, slices: 4, workers: 2, evalEvery: 5 });
    await run.begin();
    for (let i = 0; i < 21; i++) await run.advance();
    await run.heartbeats('busy');
    const { Queue } = await import('bullmq');
    for (const [name, n] of [
      ['atomizer-train-0', 2],
      ['atomizer-train-1', 2],
      ['atomizer-eval', 0],
      ['atomizer-rounds', 1],
    ] as const) {
      const q = new Queue(name, { connection: redis });
      for (let j = 0; j < Math.max(n, 1); j++)
        await q.add(name.endsWith('rounds') ? 'round' : 'slice', { job: j }, n === 0 ? { delay: 60_000 } : {});
      await q.close();
    }
    const dashboard = await startDashboard({ redisUrl: redisServer.url, store, port: 0 });
    cleanups.push(() => dashboard.close());
    url = dashboard.url;
  } else if (values.token !== undefined) {
    const u = new URL(url);
    u.searchParams.set('token', values.token);
    url = u.toString();
  }

  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: Number(values.width), height: Number(values.height) }, deviceScaleFactor: 1 });
  await page.goto(url);
  await page.locator('#live.on').waitFor();
  await page.locator('#eval-table tbody tr[data-modality]').first().waitFor();
  await page.locator('#chart-loss[data-points]').waitFor();
  await page.waitForTimeout(800); // let the progress bar transition finish
  await mkdir(dirname(values.out), { recursive: true });
  await page.screenshot({ path: values.out, fullPage: true });
  process.stdout.write(`wrote ${values.out} (${url.replace(/token=[^&]+/, 'token=***')})\n`);
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
}
