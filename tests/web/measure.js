#!/usr/bin/env node
// Time the page of `tk export --web` in headless Chromium (by hand; figures are noisy on a shared machine).
//
//   node tests/web/measure.js URL CSV [chromium]
//
// Prints JSON: load_ms (navigation → first prediction shown: fetch, wasm compile, session, form),
// update_ms (median of 20 field changes → new prediction shown, including the 150 ms debounce),
// csv_ms and csv_rows (upload → download offered).
'use strict';

const fs = require('fs');
const os = require('os');
const { chromium } = require('playwright-core');

async function main() {
  const [url, csv, exe = '/usr/bin/chromium'] = process.argv.slice(2);
  const dir = fs.mkdtempSync(`${os.tmpdir()}/tk-web-measure-`);
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: exe, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    const ready = () => page.waitForFunction(() => document.body.dataset.state === 'ready'
      && [...document.querySelectorAll('#results output')].every((r) => r.dataset.key === window.tkPage.formKey()));
    let t = Date.now();
    await page.goto(url);
    await ready();
    const load = Date.now() - t;
    const field = (await page.evaluate(() => window.tkPage.fields())).find((f) => f.dtype === 'float32');
    const updates = [];
    for (let i = 0; i < 20 && field; i++) {
      t = Date.now();
      await page.getByLabel(field.column, { exact: true }).fill(String(field.min + ((field.max - field.min) * i) / 20));
      await ready();
      updates.push(Date.now() - t);
    }
    updates.sort((a, b) => a - b);
    t = Date.now();
    await page.setInputFiles('#csv-file', csv);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.csv), null, { timeout: 300_000 });
    const csvMs = Date.now() - t;
    const status = await page.textContent('#csv-status');
    console.log(JSON.stringify({ load_ms: load, update_ms: updates[Math.floor(updates.length / 2)] ?? null,
      csv_ms: csvMs, csv_status: status }));
  } finally {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(`${e.stack || e}\n`); process.exit(1); });
