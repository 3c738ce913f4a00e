#!/usr/bin/env node
// Drive the page of `tk export --web` in headless Chromium (playwright-core + Debian's chromium).
//
//   node drive.js plan.json        → prints one JSON object to stdout
//
// plan.json: {"url": "http://127.0.0.1:PORT/", "chromium": "/usr/bin/chromium",
//             "rows": [{column: value, …}, …],          fill the form through its labelled controls
//             "csv": ["/path/rows.csv", …],              upload each, then read the offered download
//             "screenshots": [{"width": 1280, "height": 900, "path": "…png"}]}
// Output: {"rows": [{"values": form values, "results": {output: {label, probabilities, value}}}],
//          "defaults": the same for the form as loaded, "csv": [{"state", "status", "name", "text"}],
//          "a11y": {controls, unlabelled, overflowX, tabOrder}, "screens": [a11y per width],
//          "errors": [console errors], "external": [requests to other origins]}
'use strict';

const fs = require('fs');
const { chromium } = require('playwright-core');

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const TIMEOUT_MS = 60_000;

async function settled(page) {
  // ready, and every shown result was computed from what the form holds now
  await page.waitForFunction(() => {
    const state = document.body.dataset.state;
    if (state === 'error') return true;
    const results = [...document.querySelectorAll('#results output')];
    return state === 'ready' && results.length > 0 && results.every((r) => r.dataset.key === window.tkPage.formKey());
  }, null, { timeout: TIMEOUT_MS });
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state === 'error') throw new Error(`page error: ${await page.textContent('#status')}`);
}

async function fill(page, fields, row) {
  for (const [column, value] of Object.entries(row)) {
    const f = fields.find((x) => x.column === column);
    if (!f) throw new Error(`no field for column ${column}`);
    const control = page.getByLabel(column, { exact: true }); // through its <label for>
    if (f.type === 'binary') {
      if (!f.labels.includes(value)) throw new Error(`${column}: ${value} is not one of ${f.labels}`);
      await control.setChecked(value === f.labels[1]);
    } else if (f.type === 'category') {
      await control.selectOption({ value });
    } else if (f.type === 'set') {
      await control.fill(value);
      await control.press('Enter');
    } else {
      await control.fill(String(value));
    }
  }
}

async function results(page) {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#results output')].map((r) => [
    r.id.replace(/^result-/, ''),
    { label: r.dataset.label ?? null,
      probabilities: r.dataset.probabilities ? JSON.parse(r.dataset.probabilities) : null,
      value: r.dataset.value ? JSON.parse(r.dataset.value) : null,
      attributions: r.dataset.attributions ? JSON.parse(r.dataset.attributions) : null,
      why: r.dataset.why ? JSON.parse(r.dataset.why) : null }])));
}

async function accessibility(page) {
  return page.evaluate(() => {
    const controls = [...document.querySelectorAll('input, select, textarea')].filter((c) => c.type !== 'hidden');
    return {
      controls: controls.length,
      ids: controls.map((c) => c.id),
      unlabelled: controls.filter((c) => !c.labels || c.labels.length === 0).map((c) => c.id || c.name || c.tagName),
      overflowX: document.documentElement.scrollWidth > window.innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
    };
  });
}

async function keyboard(page) {
  // Tab from the top: which controls receive focus, in order
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  await page.mouse.click(2, 2); // the top of the page: where sequential focus navigation starts
  const order = [];
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const a = document.activeElement;
      return !a || a === document.body ? null : a.id || a.getAttribute('aria-label') || a.textContent.trim();
    });
    if (!id || order.includes(id)) break;
    order.push(id);
  }
  return order;
}

async function main() {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const userDataDir = fs.mkdtempSync(`${require('os').tmpdir()}/tk-web-chromium-`);
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: plan.chromium, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 },
    timeout: TIMEOUT_MS,
  });
  const errors = [];
  const out = { rows: [], csv: [], errors };
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    const external = [];
    page.on('request', (r) => { if (!r.url().startsWith(new URL(plan.url).origin) && !r.url().startsWith('blob:')) external.push(r.url()); });
    await page.goto(plan.url, { timeout: TIMEOUT_MS });
    await settled(page);
    const fields = await page.evaluate(() => window.tkPage.fields());
    out.defaults = { values: await page.evaluate(() => window.tkPage.formValues()), results: await results(page) };
    for (const row of plan.rows || []) {
      await page.click('#reset');
      await fill(page, fields, row);
      await settled(page);
      out.rows.push({ values: await page.evaluate(() => window.tkPage.formValues()), results: await results(page) });
    }
    out.csv = [];
    for (const file of plan.csv || []) {  // upload each file, read the offered download
      await page.evaluate(() => { delete document.body.dataset.csv; });
      await page.setInputFiles('#csv-file', file);
      await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.csv), null, { timeout: TIMEOUT_MS });
      out.csv.push(await page.evaluate(async () => {
        const link = document.getElementById('csv-download');
        return { state: document.body.dataset.csv, status: document.getElementById('csv-status').textContent,
                 name: link.download, text: link.hidden ? null : await (await fetch(link.href)).text() };
      }));
    }
    out.a11y = await accessibility(page);
    out.a11y.tabOrder = await keyboard(page);
    out.screens = [];
    for (const shot of plan.screenshots || []) {
      await page.setViewportSize({ width: shot.width, height: shot.height });
      await page.click('#reset');
      await settled(page);
      await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
      out.screens.push({ width: shot.width, ...(await accessibility(page)) });
      await page.screenshot({ path: shot.path, fullPage: !!shot.fullPage });
    }
    out.external = external;
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`drive.js: ${e.stack || e}\n`);
  process.exit(1);
});
