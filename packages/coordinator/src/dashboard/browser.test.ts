import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, startEmbeddedRedis, type EmbeddedRedis } from '@atomizer/protocol/redis';
import { startEmbeddedS3, type EmbeddedS3 } from '@atomizer/protocol/embedded';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from './server.js';
import { chromiumPath, launchChromium } from './testing/browser.js';
import { SampleRun } from './testing/sample-run.js';

// The training page in a real browser: Debian's headless Chromium (playwright-core)
// against a running dashboard whose run advances while the page is open. No skip:
// without Chromium this fails, saying what to install.

let dir: string;
let redisServer: EmbeddedRedis;
let s3: EmbeddedS3;
let redis: Redis;
let dashboard: Dashboard;
let browser: Browser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-dashboard-browser-'));
  redisServer = await startEmbeddedRedis();
  s3 = await startEmbeddedS3({ dir: join(dir, 's3') });
  redis = connectRedis(redisServer.url);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await redis?.quit();
  await s3?.stop();
  await redisServer?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Wait (bounded) for the page to show a value: the page updates about every 250 ms. */
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

describe('training page in Chromium', () => {
  it('shows live values that change without a reload as the run advances, and saves a screenshot', async () => {
    const store = s3.store();
    const run = new SampleRun({ store, redis, run: 'browser', rounds: 12, slices: 4, workers: 2, evalEvery: 5 });
    await run.begin();
    for (let i = 0; i < 3; i++) await run.advance();
    const q = new Queue('atomizer-train-0', { connection: redis });
    await q.add('slice', { job: 0 });
    dashboard = await startDashboard({ redisUrl: redisServer.url, store, port: 0, intervalMs: 250 });

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    let loads = 0;
    page.on('load', () => loads++);
    await page.goto(dashboard.url);

    // Live, with the state written so far.
    await page.locator('#live.on').waitFor();
    await poll(() => page.locator('#round').textContent()).toBe('3');
    expect(await page.locator('#rounds').textContent()).toBe('12');
    expect(await page.locator('#run-name').textContent()).toBe('browser');
    expect(await page.locator('#state').textContent()).toBe('running');
    expect(await page.locator('#loss-value').textContent()).toBe(run.lossAt(2).toFixed(4));
    await poll(() => page.locator('#workers tbody tr[data-worker]').count()).toBe(2);
    expect(await page.locator('#workers tbody tr[data-worker="worker-1"] td').nth(2).textContent()).toBe('wasm (native kernels: on)');
    await poll(() => page.locator('#queues tbody tr').first().textContent()).toMatch(/^atomizer-train-01/);
    expect(await page.locator('#eval-table tbody tr[data-modality]').count()).toBe(0);
    // The charts are drawn by uPlot (served from node_modules) with one point per round.
    expect(await page.locator('#chart-loss canvas').count()).toBe(1);
    await poll(() => page.locator('#chart-loss').getAttribute('data-points')).toBe('3');
    expect(await page.evaluate('typeof uPlot')).toBe('function');
    expect(await page.locator('#progressbar').getAttribute('aria-valuenow')).toBe('25');

    // The run advances while the page is open: round, loss, bar, evaluation table, incidents follow.
    for (let i = 0; i < 3; i++) await run.advance();
    await q.add('slice', { job: 1 });
    await poll(() => page.locator('#round').textContent()).toBe('6');
    await poll(() => page.locator('#loss-value').textContent()).toBe(run.lossAt(5).toFixed(4));
    expect(await page.locator('#progressbar').getAttribute('aria-valuenow')).toBe('50');
    await poll(() => page.locator('#eval-table tbody tr[data-modality]').count()).toBe(12);
    const unseenRow = page.locator('#eval-table tbody tr[data-split="test"][data-modality="mss-gr-nir2"]');
    expect(await unseenRow.locator('.tag').textContent()).toBe('unseen');
    expect(await unseenRow.locator('.acc').textContent()).toBe(`${(100 * (0.78 * (1 - Math.exp(-5 / 6)) - 0.01)).toFixed(1)}%`);
    await poll(() => page.locator('#incidents tbody tr').first().textContent()).toMatch(/^3late3arrived after the round closed/);
    await poll(() => page.locator('#queues tbody tr').first().textContent()).toMatch(/^atomizer-train-02/);

    // One more evaluation: the unseen row's accuracy changes in place.
    const accBefore = await unseenRow.locator('.acc').textContent();
    for (let i = 0; i < 5; i++) await run.advance();
    await poll(() => page.locator('#round').textContent()).toBe('11');
    await poll(() => unseenRow.locator('.acc').textContent()).not.toBe(accBefore);
    expect(await unseenRow.locator('.trend').textContent()).toMatch(/^\+\d+\.\d$/);

    // The charts hold every round.
    for (const id of ['chart-loss', 'chart-lr', 'chart-sps']) expect(await page.locator(`#${id}`).getAttribute('data-points')).toBe('11');
    expect(loads).toBe(1); // never reloaded
    expect(pageErrors).toEqual([]);

    const shot = join(dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(20_000);
    await q.close();
  }, 120_000);
});

describe('chromiumPath', () => {
  it('fails with what to install when there is no Chromium (the browser test never skips)', () => {
    expect(() => chromiumPath({ ATOMIZER_CHROMIUM: join(tmpdir(), 'no-such-chromium') })).toThrow(/apt-get install -y chromium/);
  });
});
