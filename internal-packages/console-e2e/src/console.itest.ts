/**
 * The web console end to end: Debian's Chromium (playwright-core) against `strata server` on the real stack with the
 * demo's data (examples/demo/data.mjs) loaded through real ingest, validation, materialization and training-set
 * workflows. Every page renders with no console error, no failed request and no HTTP error, and with no serious or
 * critical axe-core violation; a quarantined batch released in the UI is committed; YAML applied in the UI creates a
 * view; a viewer key sees no write action and the API refuses the writes when forced; explain shows the commit and
 * ingestion this test wrote; the trend chart shows the numbers the API returns. Writes docs/console/*.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromRows } from '@strata/sdk';
import { eventually, launchChromium, requireBuilt, requireChromium } from '@strata/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ready, seriousA11y, signedIn, visit } from './browser.js';
import { BUILT, type ConsoleStack, demo, type Role, SCREENSHOT_DIR, startConsoleStack } from './stack.js';

const SUITE = 'console e2e';
const skip = requireChromium(SUITE) || requireBuilt(SUITE, ...BUILT);

/** Every write action the console offers, by test id: a viewer must see none of them. */
const WRITE_ACTIONS = [
  '[data-testid^="release-"]',
  '[data-testid="materialize"]',
  '[data-testid^="trigger"]',
  '[data-testid="apply"]',
  '[data-testid="create-key"]',
  '[data-testid^="revoke-"]',
  '[data-testid="start-training-set"]',
].join(', ');

describe.skipIf(skip)('the web console in Chromium on the real stack with the demo data', () => {
  let stack: ConsoleStack;
  let browser: Browser;
  const contexts = new Map<Role, BrowserContext>();
  const pages = new Map<Role, Page>();

  /** One page per role, reused across tests (one browser, one context per role). */
  const pageAs = async (role: Role): Promise<Page> => {
    const open = pages.get(role);
    if (open) return open;
    const context = await signedIn(browser, stack, role);
    contexts.set(role, context);
    const page = await context.newPage();
    // ActionButton asks window.confirm() before a write; the test says yes.
    page.on('dialog', (d) => void d.accept());
    pages.set(role, page);
    return page;
  };
  const shot = async (page: Page, name: string) => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled', caret: 'hide' });
  };
  const p = () => stack.project;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startConsoleStack(), launchChromium()]);
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts.values()) await c.close().catch(() => {});
    await browser?.close();
    await stack?.close();
  });

  /** Every page, and the screenshot it makes (README's Console section). */
  const PAGES: [string, (project: string) => string, string?][] = [
    ['overview', (p) => `/projects/${p}`, 'overview'],
    ['view: schema', (p) => `/views/${p}/daily_weather?tab=schema`],
    ['view: versions', (p) => `/views/${p}/daily_weather?tab=versions`],
    ['view: commits', (p) => `/views/${p}/daily_weather?tab=commits`, 'view'],
    ['view: statistics', (p) => `/views/${p}/daily_weather?tab=statistics&feature=temp_max`],
    ['view: drift', (p) => `/views/${p}/daily_weather?tab=drift`],
    ['view: validation', (p) => `/views/${p}/daily_weather?tab=validation`],
    ['view: materialization', (p) => `/views/${p}/daily_weather?tab=materialization`],
    ['lineage', (p) => `/lineage/${p}`, 'lineage'],
    ['explain', (p) => `/explain/${p}`],
    ['pipelines', (p) => `/pipelines/${p}`, 'pipelines'],
    ['training sets', (p) => `/training-sets/${p}`],
    ['online lookup', (p) => `/online/${p}`],
    ['apply', (p) => `/apply/${p}`],
    ['admin', () => '/admin'],
  ];

  for (const [name, path, screenshot] of PAGES) {
    it(`${name}: renders with no console error, failed request or HTTP error, and axe-core finds no serious or critical violation`, async () => {
      const page = await pageAs('admin');
      const problems = await visit(page, path(p()));
      const a11y = await seriousA11y(page);
      if (screenshot) await shot(page, screenshot);
      expect({ problems, a11y }).toEqual({ problems: [], a11y: [] });
    });
  }

  it('a quarantined batch released in the UI is committed (checked through the API)', async () => {
    const id = stack.demo.quarantined.toRelease;
    const before = await stack.api('GET', stack.p(`/ingestions/${id}`));
    expect(before.body.status).toBe('quarantined');
    const page = await pageAs('editor');
    await visit(page, `/views/${p()}/daily_weather?tab=commits`);
    await page.getByTestId(`release-${id}`).click();
    const after = await eventually(async () => {
      const r = await stack.api('GET', stack.p(`/ingestions/${id}`));
      return r.body.status === 'committed' ? r.body : undefined;
    }, 60_000);
    expect(after.commitSeq).toBeGreaterThan(0);
    // The other batch stays quarantined, and the timeline shows the new status after a reload.
    expect((await stack.api('GET', stack.p(`/ingestions/${stack.demo.quarantined.kept}`))).body.status).toBe('quarantined');
    await visit(page, `/views/${p()}/daily_weather?tab=commits`);
    await expect.poll(() => page.locator(`tr[data-ingestion="${id}"]`).textContent(), { timeout: 15_000 }).toMatch(/committed/);
  });

  it('YAML applied in the UI creates a view (checked through the API)', async () => {
    const name = 'console_applied_view';
    expect((await stack.api('GET', stack.p(`/feature-views/${name}`))).status).toBe(404);
    const yaml = [
      'entities:',
      '  - name: user',
      '    description: a customer',
      '    joinKeys: [{ name: user_id, valueType: INT64 }]',
      'featureViews:',
      `  - name: ${name}`,
      '    entities: [user]',
      '    timestampField: ts',
      '    owner: console-e2e',
      '    features:',
      '      - { name: sessions, valueType: INT64 }',
      '      - { name: spend, valueType: DOUBLE }',
      '',
    ].join('\n');
    const page = await pageAs('editor');
    await visit(page, `/apply/${p()}`);
    await page.locator('#spec-text').fill(yaml);
    await page.getByTestId('plan').click();
    await expect.poll(() => page.getByTestId('plan-changes').textContent(), { timeout: 15_000 }).toContain(name);
    await page.getByTestId('apply').click();
    await page.getByTestId('applied').waitFor({ timeout: 30_000 });
    const view = await stack.api('GET', stack.p(`/feature-views/${name}`));
    expect(view.status).toBe(200);
    expect(view.body.spec.features.map((f: { name: string }) => f.name)).toEqual(['sessions', 'spend']);
    expect(view.body.spec.owner).toBe('console-e2e');
  });

  it('a viewer key sees no write action, and the API refuses each write with 403 when forced', async () => {
    const viewer = await pageAs('viewer');
    const editor = await pageAs('editor');
    const admin = await pageAs('admin');
    // The same pages as the editor (who sees the actions: the selectors are not empty by construction).
    const checks: [Page, string][] = [
      [editor, `/views/${p()}/daily_weather?tab=commits`],
      [editor, `/views/${p()}/daily_weather?tab=materialization`],
      [admin, '/admin'],
    ];
    for (const [page, path] of checks) {
      await visit(page, path);
      expect(await page.locator(WRITE_ACTIONS).count(), `${path} shows write actions to a writer`).toBeGreaterThan(0);
    }
    for (const path of [
      `/projects/${p()}`,
      `/views/${p()}/daily_weather?tab=commits`,
      `/views/${p()}/daily_weather?tab=materialization`,
      `/training-sets/${p()}`,
      `/apply/${p()}`,
      '/admin',
    ]) {
      expect(await visit(viewer, path)).toEqual([]);
      expect(await viewer.locator(WRITE_ACTIONS).count(), `${path} shows a write action to a viewer`).toBe(0);
    }
    // The kept quarantined batch is on the viewer's timeline, with no release button.
    await visit(viewer, `/views/${p()}/daily_weather?tab=commits`);
    expect(await viewer.locator(`tr[data-ingestion="${stack.demo.quarantined.kept}"]`).count()).toBe(1);

    // Forced: the browser sends the writes itself with the viewer's key.
    const auth = { authorization: `Bearer ${stack.keys.viewer}` };
    const forced = {
      release: await viewer.request.post(`${stack.p(`/ingestions/${stack.demo.quarantined.kept}/release`)}`, {
        headers: auth,
        data: {},
      }),
      apply: await viewer.request.post(stack.p('/apply'), {
        headers: { ...auth, 'content-type': 'application/yaml' },
        data: 'featureViews: []\n',
      }),
      materialize: await viewer.request.post(stack.p('/materializations'), {
        headers: auth,
        data: { views: ['daily_weather'] },
      }),
      trainingSet: await viewer.request.post(stack.p('/training-sets'), {
        headers: auth,
        data: { featureService: 'promo_model_v1', entities: { user_id: [1], promo_id: ['AFP99BC'] } },
      }),
      createKey: await viewer.request.post('/api/v1/keys', { headers: auth, data: { name: 'x', roles: { [p()]: 'admin' } } }),
    };
    const statuses = Object.fromEntries(Object.entries(forced).map(([k, r]) => [k, r.status()]));
    expect(statuses).toEqual({ release: 403, apply: 403, materialize: 403, trainingSet: 403, createKey: 403 });
    expect((await forced.release.json()).error.code).toBe('FORBIDDEN');
    expect((await stack.api('GET', stack.p(`/ingestions/${stack.demo.quarantined.kept}`))).body.status).toBe('quarantined');
  });

  it('explain shows the commit and ingestion that this test wrote', async () => {
    const ingestionId = 'explain-e2e-user-424242';
    const rows = tableFromRows(demo.USER_FIELDS, [
      { user_id: 424242, dt: new Date('2021-03-07T00:00:00Z'), feature_1: 42.5, feature_2: 1, feature_3: 2, feature_n: 3 },
    ]);
    const written = await (
      await stack.strata.ingest('all_users_agg_m', rows, { ingestionId, source: 'test:explain', createdBy: 'console-e2e' })
    ).result();
    await (await stack.strata.materialize('all_users_agg_m')).result();
    const page = await pageAs('viewer');
    await visit(page, `/explain/${p()}?view=all_users_agg_m&entity=user_id=424242&feature=feature_1`);
    await page.locator('#ex-key-user_id').fill('424242');
    await page.locator('#ex-feature').selectOption('feature_1');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.getByTestId('explain-result').waitFor({ timeout: 30_000 });
    await ready(page);
    expect(await page.getByTestId('explain-commit').textContent()).toBe(String(written.commitSeq));
    expect(await page.getByTestId('explain-ingestion').textContent()).toBe(ingestionId);
    expect(await page.getByTestId('online-value').textContent()).toBe('42.5');
    // The same through the API.
    const api = await stack.api(
      'GET',
      stack.p('/feature-views/all_users_agg_m/explain?entity=user_id=424242&feature=feature_1'),
      { role: 'viewer' },
    );
    expect(api.status).toBe(200);
    expect(api.body.commit.commitId).toBe(written.commitSeq);
    expect(api.body.ingestion.id).toBe(ingestionId);
    expect(await seriousA11y(page)).toEqual([]);
    await shot(page, 'explain');
  });

  it('the trend chart shows the numbers the API returns (its data table and its marks)', async () => {
    // Three more weather commits whose temp_max means are known: 11, 21, 31.
    const ids: string[] = [];
    for (const k of [1, 2, 3]) {
      const ingestionId = `chart-e2e-${k}`;
      ids.push(ingestionId);
      const batch = tableFromRows(
        demo.WEATHER_FIELDS,
        [0, 2].map((d) => ({
          location: 'Chartville',
          date: new Date(Date.UTC(2016, 1, k * 3 + d)),
          precipitation: 0,
          temp_max: 10 * k + d,
          temp_min: 0,
          wind: 1,
          weather: 'sun',
        })),
      );
      await (
        await stack.strata.ingest('daily_weather', batch, { ingestionId, source: 'test:chart', createdBy: 'console-e2e' })
      ).result();
    }
    const series = await stack.api('GET', stack.p('/feature-views/daily_weather/statistics?features=temp_max&limit=200'), {
      role: 'viewer',
    });
    expect(series.status).toBe(200);
    const fromApi = new Map<string, number>(
      (series.body.commits as { ingestionId: string; stats: Record<string, { mean?: number | null }> }[])
        .filter((c) => typeof c.stats.temp_max?.mean === 'number')
        .map((c) => [c.ingestionId, c.stats.temp_max?.mean as number]),
    );
    expect(ids.map((id) => fromApi.get(id))).toEqual([11, 21, 31]);

    const page = await pageAs('viewer');
    expect(await visit(page, `/views/${p()}/daily_weather?tab=statistics&feature=temp_max&stat=mean`)).toEqual([]);
    const table = page.getByTestId('chart-data-trend');
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 15_000 }).toBe(fromApi.size);
    const cells = await table
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) =>
          Array.from((tr as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells, (c) => c.textContent ?? ''),
        ),
      );
    const fromTable = new Map(cells.map(([, ingestion, value]) => [ingestion as string, Number(value)]));
    expect(fromTable).toEqual(fromApi);
    // The drawn marks: one dot per commit, its <title> the commit and its value.
    const chart = page.getByTestId('chart-trend');
    await chart.locator('svg').first().waitFor({ timeout: 15_000 });
    const titles = await chart.locator('svg title').allTextContents();
    const fromMarks = titles
      .map((t) => /=\s*(-?[\d.e+-]+)\s*$/.exec(t)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    expect(fromMarks).toEqual([...fromApi.values()].sort((a, b) => a - b));
    expect(await seriousA11y(page)).toEqual([]);
  });
});
