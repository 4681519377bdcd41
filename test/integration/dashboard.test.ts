import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../../tools/local-cloud/cloud';
import { createTrafficGenerator } from '../../lambdas/generator/traffic';
import { sampleEventV3 } from '../fixtures/events';
import { poll } from '../fixtures/poll';

// The local cloud's live dashboard in a real headless browser: Debian's chromium driven by
// playwright-core. The page must load with no console error and no failed request, only from the
// local cloud (nothing from a CDN), and show non-zero numbers once events flow. A screenshot goes
// to test-results/dashboard.png (gitignored) for a human to look at.

const projectDir = path.resolve(import.meta.dirname, '../..');
const workDir = mkdtempSync(path.join(tmpdir(), 'dashboard-'));
const screenshotDir = path.join(projectDir, 'test-results');
/** Client data that would run as HTML if the page used innerHTML: it must show as text. */
const HOSTILE_ID = `<img src=x onerror="window.__xss=1">${'A'.repeat(300)}`;

/** Debian's chromium; a missing browser fails the file with what to do (never a silent skip). */
function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'The dashboard test needs a headless browser: chromium is not on PATH. Install it with ' +
        '`apt-get update && apt-get install -y chromium` (.ci/run does this), or set CHROMIUM_PATH.',
    );
  }
}

let cloud: LocalCloud;
let browser: Browser;
let outputsFile: string;
/** Without a browser every test fails with what to do (a failure in beforeAll would count them as skipped). */
let missingBrowser: Error | undefined;
const needsBrowser = () => {
  if (missingBrowser) throw missingBrowser;
};

beforeAll(async () => {
  let executablePath: string;
  try {
    executablePath = chromiumPath();
  } catch (error) {
    missingBrowser = error as Error;
    return;
  }
  outputsFile = path.join(workDir, 'outputs.json');
  cloud = await startLocalCloud({
    port: 0,
    projectDir,
    cdkOut: path.join(workDir, 'cdk.out'),
    outputsFile,
    generator: false,
  });
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});

afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

async function post(events: unknown[]): Promise<number> {
  const response = await fetch(`${cloud.outputs.IngestUrl}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': cloud.apiKeyValue },
    body: JSON.stringify({ events }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** What went wrong in the page: console errors, uncaught exceptions, failed or refused requests. */
function watch(page: Page): { problems: string[]; requests: string[] } {
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  page.on('request', (request) => requests.push(request.url()));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return { problems, requests };
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();
const number = async (page: Page, selector: string) => Number((await text(page, selector)).replace(/[^0-9.]/g, '') || 'NaN');

describe('the live dashboard', () => {
  it('is written as DashboardUrl in the outputs file and serves its page, script, Chart.js and data locally', async () => {
    needsBrowser();
    const written = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>;
    const url = written[cloud.stackName]!.DashboardUrl!;
    expect(url).toBe(`${cloud.endpoint}/_local/dashboard/`);
    expect(cloud.outputs.DashboardUrl).toBe(url);

    const redirect = await fetch(`${cloud.endpoint}/_local/dashboard`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/_local/dashboard/');

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//); // nothing from another origin
    const chart = await fetch(`${url}vendor/chart.umd.min.js`);
    expect(chart.status).toBe(200);
    expect((await chart.text()).length).toBeGreaterThan(100_000);

    const data = (await (await fetch(`${url}data`)).json()) as Record<string, unknown>;
    expect(data).toMatchObject({ stackName: cloud.stackName, totals: { accepted: 0 }, errors: {} });

    expect((await fetch(`${url}nothing-here`)).status).toBe(404);
    expect((await fetch(`${url}data`, { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('loads in chromium with no console error or failed request and shows the events as they flow', async () => {
    needsBrowser();
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const { problems, requests } = watch(page);
    await page.goto(cloud.outputs.DashboardUrl!);
    // Before any event: zeros, and the status pipeline status would give.
    await poll('the first data on the page', async () => ((await text(page, '#health-status')) === 'NO_DATA' ? true : undefined), 30_000);
    expect(await text(page, '#total-accepted')).toBe('0');

    // Traffic over a few seconds (so the rates chart has a shape), a purchase in two currencies
    // at a known time, and an invalid event whose event_id is hostile HTML.
    const generator = createTrafficGenerator({ seed: 11, invalidShare: 0.04 });
    const recent = () => new Date(Date.now() - 5_000).toISOString();
    const purchases = [
      sampleEventV3({ event_id: randomUUID(), event_time: recent(), currency: 'USD', price: 25, quantity: 2, product_id: 'SKU-DASH-1', category: 'books' }),
      sampleEventV3({ event_id: randomUUID(), event_time: recent(), currency: 'EUR', price: 10.5, quantity: 1, product_id: 'SKU-DASH-2', category: 'toys' }),
    ];
    const hostile = sampleEventV3({ event_id: HOSTILE_ID, event_time: recent() });
    expect(await post([...purchases, hostile])).toBe(202);
    for (let round = 0; round < 5; round++) {
      expect(await post(generator.batch(60).map((g) => g.event))).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }

    // Non-zero numbers on the page once the events are stored and the hostile one dead-lettered.
    await poll(
      'stored events and the dead letter on the page',
      async () => ((await number(page, '#total-stored')) > 0 && (await number(page, '#dlq-depth')) > 0 && (await page.locator('.dlq-reason').count()) > 0 ? true : undefined),
      90_000,
      500,
    );
    await poll('revenue and segments on the page', async () => {
      const revenue = await text(page, '#revenue-totals');
      const basis = await text(page, '#segments-basis');
      return /\$[\d,]+\.\d\d/.test(revenue) && /€/.test(revenue) && /of [1-9][\d,]* stored events/.test(basis) ? true : undefined;
    }, 60_000, 500);
    // A couple more polls, so the rates chart holds the whole burst.
    await page.waitForTimeout(3_000);

    expect(await number(page, '#total-accepted')).toBeGreaterThanOrEqual(303);
    expect(await number(page, '#total-valid')).toBeGreaterThan(0);
    expect(await number(page, '#total-invalid')).toBeGreaterThanOrEqual(1);
    expect(await text(page, '#validity')).toMatch(/^\d+(\.\d)? %$/);
    expect(['HEALTHY', 'DEGRADED']).toContain(await text(page, '#health-status'));
    expect(await page.locator('#health-reasons li').count()).toBeGreaterThan(0);

    // The charts hold data (drawn on canvases, so read through Chart.js).
    const sums = await page.evaluate(() => {
      const sum = (id: string) => {
        const chart = (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: Array<{ data: number[] }> } } | undefined } }).Chart.getChart(id);
        return (chart?.data.datasets ?? []).reduce((total, set) => total + set.data.reduce((a, b) => a + (Number(b) || 0), 0), 0);
      };
      return { rates: sum('chart-rates'), validity: sum('chart-validity'), revenue: sum('chart-revenue'), products: sum('chart-products'), categories: sum('chart-categories'), segments: sum('chart-segments') };
    });
    for (const [chart, total] of Object.entries(sums)) expect(total, chart).toBeGreaterThan(0);

    // Revenue is charted one currency at a time: USD first, another one picked in the select.
    expect(await page.inputValue('#currency')).toBe('USD');
    await page.selectOption('#currency', 'EUR');
    const euro = await page.evaluate(() => {
      const chart = (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: Array<{ label: string; data: number[] }> } } | undefined } }).Chart.getChart('chart-revenue');
      const set = chart?.data.datasets[0];
      return { label: set?.label, total: (set?.data ?? []).reduce((a, b) => a + b, 0) };
    });
    expect(euro.label).toBe('EUR');
    expect(euro.total).toBeGreaterThanOrEqual(10.5);
    await page.selectOption('#currency', 'USD');

    // The hostile dead letter: shown as text, cut to a bounded length, never run as HTML.
    const dlqText = await text(page, '#dlq-reasons');
    expect(dlqText).toContain('validation_failed');
    expect(dlqText).toContain('<img src=x onerror=');
    expect(await page.locator('#dlq-reasons img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    const sampleIds = await page.locator('.dlq-samples code').allInnerTexts();
    expect(sampleIds.some((id) => id.startsWith('<img'))).toBe(true);
    for (const id of sampleIds) expect(Array.from(id).length).toBeLessThanOrEqual(64);

    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, 'dashboard.png'), fullPage: true });

    // Only the local cloud was asked for anything.
    expect(requests.filter((url) => !url.startsWith(cloud.endpoint) && !url.startsWith('data:'))).toEqual([]);
    expect(requests.filter((url) => url.endsWith('/data')).length).toBeGreaterThan(3);
    expect(problems).toEqual([]);
    await page.close();
  });
});
