import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../dashboard/testing/browser.js';

// The dashboard of a running demo (real redis-server, S3 server, two worker
// processes, training on Statlog) in Debian's headless Chromium: live values
// change without a reload, the workers show up with their backend, the
// evaluation table fills in at the end; then Ctrl-C stops the kept demo.
// ATOMIZER_SCREENSHOT=<file.png> also saves the screenshot there (docs/dashboard.png).

const BIN = fileURLToPath(new URL('../../bin/atomizer.js', import.meta.url));
let browser: Browser;
let dir: string;

beforeAll(async () => {
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'atomizer-demo-browser-'));
});
afterAll(async () => {
  await browser?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const poll = <T>(fn: () => Promise<T>, timeout = 120_000) => expect.poll(fn, { timeout, interval: 200 });

describe('dashboard of a running demo in Chromium', () => {
  it('shows the live run, its workers and the evaluation table, and the kept demo stops on Ctrl-C', async () => {
    const child = spawn(
      process.execPath,
      // The preset's local mode: a round is ~1 s of compute per worker, slow enough to watch.
      [BIN, 'demo', '--port', '0', '--keep', '--train-rounds', '20', '--eval-max-samples', '400', '--eval-slice-samples', '200'],
      { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await poll(async () => /dashboard: (http:\S+)/.exec(stdout)?.[1], 60_000).toBeDefined();
      const url = /dashboard: (http:\S+)/.exec(stdout)![1]!;
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      let loads = 0;
      page.on('load', () => loads++);
      await page.goto(url);
      await page.locator('#live.on').waitFor();
      // Two real workers with their backend, while the run trains.
      await poll(() => page.locator('#workers tbody tr[data-worker]').count()).toBe(2);
      await poll(async () => Number(await page.locator('#round').textContent())).toBeGreaterThanOrEqual(2);
      const roundA = Number(await page.locator('#round').textContent());
      const lossA = await page.locator('#loss-value').textContent();
      await poll(async () => Number(await page.locator('#round').textContent())).toBeGreaterThan(roundA + 1);
      expect(await page.locator('#loss-value').textContent()).not.toBe(lossA);
      expect(Number(await page.locator('#chart-loss').getAttribute('data-points'))).toBeGreaterThan(roundA);
      // The end of the run: round 20/20 and the evaluation table with seen and unseen rows.
      await poll(() => page.locator('#round').textContent()).toBe('20');
      await poll(() => page.locator('#eval-table tbody tr[data-modality]').count()).toBeGreaterThan(4);
      expect(await page.locator('#eval-table tbody tr[data-modality="mss-gr-nir2"] .tag').first().textContent()).toBe('unseen');
      expect(await page.locator('#eval-table tbody tr[data-modality="mss-grn"] .tag').first().textContent()).toBe('seen');
      expect(loads).toBe(1);
      expect(errors).toEqual([]);
      const shot = process.env.ATOMIZER_SCREENSHOT ?? join(dir, 'demo-dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect((await stat(shot)).size).toBeGreaterThan(20_000);
      await poll(async () => /kept up: Ctrl-C to stop/.test(stdout), 60_000).toBe(true);
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 300_000);
});
