// The page of `tk export --web`: a form built from model.onnx's metadata, predictions by onnxruntime-web.
//
// model.onnx metadata_props (read here from the protobuf, as onnxruntime-web does not expose them):
//   tk.web       {"title", "fields": [{"column", "type", "dtype", "default", choices|labels|members…}]}
//   tk.outputs   [{"name": "<output>::label|::probabilities|::value", "dtype", "shape"}]
//   tk.features  {"outputs": [{"name", "type", "classes"?}]}
// Values are coerced as toolkit.runtime.predictor.Predictor coerces them (see examples/edge/node/predict.js).
// For tests and scripts: each output's <output id="result-NAME"> holds data-label, data-probabilities
// (JSON, full float32 precision), data-value and data-key (the form state it was computed from);
// window.tkPage.formKey() gives the current form state; body[data-state] is loading|ready|busy|error.
'use strict';

const MISSING_WORDS = new Set(['', 'nan', 'na', 'n/a', 'null', 'none']);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const INFINITY = /^([+-]?)(inf|infinity)$/i;
const DEBOUNCE_MS = 150;
const CSV_BATCH = 512;

let session = null;
let explainer = null; // explain.js: a second session with the file's explain branch on, or null
let meta = null;
let chain = Promise.resolve();
let timer = null;

// ---- model.onnx metadata: ModelProto field 14 = repeated StringStringEntryProto {1: key, 2: value} ----

function readMetadata(bytes) {
  const text = new TextDecoder();
  let pos = 0;
  const varint = (end) => {
    let value = 0, scale = 1;
    while (pos < end) {
      const b = bytes[pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new Error('model.onnx: truncated protobuf');
  };
  const fields = (end, visit) => {
    while (pos < end) {
      const tag = varint(end), field = Math.floor(tag / 8), wire = tag % 8;
      if (wire === 0) varint(end);
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const len = varint(end), stop = pos + len;
        visit(field, stop);
        pos = stop;
      } else throw new Error(`model.onnx: unexpected protobuf wire type ${wire}`);
    }
  };
  const out = {};
  fields(bytes.length, (field, stop) => {
    if (field !== 14) return;
    const entry = {};
    fields(stop, (f, s) => { entry[f] = text.decode(bytes.subarray(pos, s)); });
    if (entry[1] !== undefined) out[entry[1]] = entry[2] ?? '';
  });
  return out;
}

function parseJson(text, key) {
  try { return JSON.parse(text); } catch (e) { throw new Error(`model.onnx: metadata ${key} is not JSON`); }
}

// ---- values as the model takes them -------------------------------------------------------

class InputError extends Error {}

function toFloat(v, where) {
  if (v === null || v === undefined) return NaN;
  const s = String(v).trim();
  if (MISSING_WORDS.has(s.toLowerCase())) return NaN;
  const inf = INFINITY.exec(s);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (DECIMAL.test(s)) return Number(s);
  throw new InputError(`${where}: expected a number, got "${s.length > 40 ? s.slice(0, 37) + '...' : s}"`);
}

/** {column: [raw values]} → onnxruntime-web feeds. */
function feeds(columns, n) {
  const out = {};
  for (const f of meta.fields) {
    const values = columns[f.column];
    out[f.column] = f.dtype === 'float32'
      ? new ort.Tensor('float32', Float32Array.from(values, (v, i) => toFloat(v, `row ${i + 1}, column ${f.column}`)), [n])
      : new ort.Tensor('string', values.map((v) => (v === null || v === undefined ? '' : String(v))), [n]);
  }
  return out;
}

/** Run the session on N rows, one run at a time; → {output name: {data: [...], dims}}. */
function predict(columns, n) {
  const job = chain.then(async () => {
    const result = await session.run(feeds(columns, n));
    const out = {};
    for (const [name, t] of Object.entries(result)) {
      out[name] = { data: Array.from(t.data, (x) => (typeof x === 'bigint' ? Number(x) : x)), dims: t.dims };
    }
    return out;
  });
  chain = job.catch(() => {});
  return job;
}

/** The form row's attributions (explain.js), queued like predictions; → {output: Float32Array [P]}. */
function explainRow(columns) {
  const job = chain.then(() => tkExplain.run(explainer, feeds(columns, 1)));
  chain = job.catch(() => {});
  return job;
}

/** The model's outputs grouped by output feature: [{name, type, classes, label, probabilities, value}]. */
function outputGroups() {
  const features = meta.features.outputs || [];
  return features.map((f) => {
    const names = meta.outputs.map((o) => o.name).filter((n) => n.split('::')[0] === f.name);
    const pick = (kind) => names.find((n) => n === `${f.name}::${kind}`);
    return { name: f.name, type: f.type, classes: f.classes || null,
             label: pick('label'), probabilities: pick('probabilities'), value: pick('value'), others: names };
  });
}

// ---- the form -----------------------------------------------------------------------------

const byId = (id) => document.getElementById(id);
const fieldId = (column) => `field-${column.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.codePointAt(0).toString(16)}_`)}`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children);
  return node;
}

function numberText(x) { return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))); }

function buildField(f) {
  const id = fieldId(f.column);
  const label = el('label', { for: id, text: f.column });
  const hintId = `${id}-hint`;
  if (f.type === 'binary') {
    const box = el('input', { type: 'checkbox', id, name: f.column, 'aria-describedby': hintId });
    box.checked = f.default === f.labels[1];
    f.read = () => (box.checked ? f.labels[1] : f.labels[0]);
    f.reset = () => { box.checked = f.default === f.labels[1]; };
    return el('div', { class: 'field check' }, box, label,
      el('span', { class: 'hint', id: hintId, text: `checked = ${f.labels[1]}, unchecked = ${f.labels[0]}` }));
  }
  if (f.control === 'date' || f.control === 'datetime') return buildDate(f, id, label, hintId);
  let control, hint;
  if (f.type === 'category') {
    control = el('select', { id, name: f.column });
    for (const c of f.choices) control.append(el('option', { value: c, text: c }));
    control.append(el('option', { value: '', text: '(missing)' }));
    hint = `${f.choices.length} values seen in training`;
  } else if (f.dtype === 'float32') {
    control = el('input', { type: 'number', step: 'any', inputmode: 'decimal', id, name: f.column });
    hint = `training range ${numberText(f.min)} – ${numberText(f.max)}; blank = missing`;
  } else if (f.type === 'set') {
    return buildTags(f, id, label, hintId);
  } else {
    control = el('textarea', { id, name: f.column, rows: 4, placeholder: f.placeholder || '' });
    hint = 'free text';
  }
  control.setAttribute('aria-describedby', hintId);
  f.read = () => control.value;
  f.reset = () => { control.value = f.default === null || f.default === undefined ? '' : String(f.default); };
  f.reset();
  const wide = control.tagName === 'TEXTAREA';
  return el('div', { class: wide ? 'field wide' : 'field' }, label, control, el('span', { class: 'hint', id: hintId, text: hint }));
}

// ---- dates: a picker; the value is written in the column's format, which the graph parses ----

const DATE_FIELDS = { Y: 4, m: 2, d: 2, H: 2, M: 2, S: 2 };

/** The picker's time "HH:MM[:SS[.fff]]" → { H, M, S, f } (f: the fraction's digits, "" without one). */
function timeParts(time) {
  const [H, M, rest = '00'] = time.split(':');
  const [S, f = ''] = rest.split('.');
  return { H, M, S, f };
}

/** "2024-03-05T07:08:09.5" (a picker's value) → the text `format` ("iso" or strptime %Y %m %d %H %M %S %f)
 * asks for. %f is the fraction of a second, its digits as the picker gives them ("0" without one). */
function writeDate(format, pickerValue) {
  const [date, time = '00:00'] = pickerValue.split('T');
  const [Y, m, d] = date.split('-');
  const { H, M, S, f } = timeParts(time);
  const parts = { Y, m, d, H, M, S, f: f || '0' };
  if (format === 'iso') return pickerValue.length > 10 ? `${date}T${H}:${M}:${S}${f ? `.${f}` : ''}` : date;
  return format.replace(/%([YmdHMSf%])/g, (_, k) => {
    if (k === '%') return '%';
    return k === 'f' ? parts.f : parts[k].padStart(DATE_FIELDS[k], '0');
  });
}

/** The picker's value ("YYYY-MM-DD", or "YYYY-MM-DDTHH:MM[:SS[.fff]]" as the format has seconds and a
 * fraction) of a date written in `format`, or "" if it does not read. */
function readDate(format, text, withTime) {
  if (!text) return '';
  let names = ['Y', 'm', 'd', 'H', 'M', 'S', 'f'];
  let pattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?/;
  if (format !== 'iso') {
    names = [];
    const body = format.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%([YmdHMSf])/g, (_, k) => {
      names.push(k);
      return k === 'Y' ? '(\\d{4})' : k === 'f' ? '(\\d{1,6})' : '(\\d{1,2})';
    });
    pattern = new RegExp(`^${body}`);
  }
  const m = pattern.exec(text);
  if (!m) return '';
  const got = { H: '00', M: '00', S: '00', f: '' };
  names.forEach((k, i) => {
    if (m[i + 1] !== undefined) got[k] = k === 'f' ? m[i + 1] : m[i + 1].padStart(DATE_FIELDS[k], '0');
  });
  const date = `${got.Y}-${got.m}-${got.d}`;
  if (!withTime) return date;
  const fraction = got.f ? `.${got.f.padEnd(3, '0').slice(0, 3)}` : '';  // the picker holds milliseconds
  return names.includes('S') ? `${date}T${got.H}:${got.M}:${got.S}${fraction}` : `${date}T${got.H}:${got.M}`;
}

/** The picker's step: seconds when the format has them (%S; "iso" may), milliseconds with a fraction (%f). */
function dateStep(format) {
  if (format === 'iso' || format.includes('%f')) return '0.001';
  return format.includes('%S') ? '1' : '60';
}

/** A date field: <input type=date> (or datetime-local); what the model receives is written in its format. */
function buildDate(f, id, label, hintId) {
  const withTime = f.control === 'datetime';
  const control = el('input', { type: withTime ? 'datetime-local' : 'date', id, name: f.column,
    'aria-describedby': hintId, ...(withTime ? { step: dateStep(f.format) } : {}) });
  f.read = () => (control.value ? writeDate(f.format, control.value) : '');
  f.reset = () => { control.value = readDate(f.format, f.default || '', withTime); };
  f.reset();
  return el('div', { class: 'field' }, label, control,
    el('span', { class: 'hint', id: hintId, text: `sent as ${f.format === 'iso' ? 'ISO 8601' : f.format}; blank = missing` }));
}

/** A tag input for a set feature: Enter or the delimiter adds a member; Backspace on empty removes one. */
function buildTags(f, id, label, hintId) {
  const listId = `${id}-members`;
  const input = el('input', { type: 'text', id, list: listId, autocomplete: 'off', 'aria-describedby': hintId });
  const datalist = el('datalist', { id: listId }, ...f.members.map((m) => el('option', { value: m })));
  const box = el('div', { class: 'tags' });
  let tags = [];
  const render = () => {
    box.replaceChildren(...tags.map((t, i) => {
      const remove = el('button', { type: 'button', 'aria-label': `Remove ${t}`, text: '×' });
      remove.addEventListener('click', () => { tags.splice(i, 1); render(); input.focus(); changed(); });
      return el('span', { class: 'tag' }, el('span', { text: t }), remove);
    }), input);
  };
  const commit = () => {
    const parts = input.value.split(f.delimiter).map((s) => s.trim()).filter(Boolean);
    if (!parts.length) return false;
    tags.push(...parts.filter((p) => !tags.includes(p)));
    input.value = '';
    render();
    input.focus();
    return true;
  };
  input.addEventListener('keydown', (e) => {
    if ((e.key === 'Enter' || e.key === f.delimiter) && input.value.trim()) {
      e.preventDefault();
      if (commit()) changed();
    } else if (e.key === 'Backspace' && !input.value && tags.length) {
      tags.pop();
      render();
      input.focus();
      changed();
    }
  });
  input.addEventListener('blur', () => { if (commit()) changed(); });
  f.read = () => [...tags, ...input.value.split(f.delimiter).map((s) => s.trim()).filter(Boolean)].join(f.delimiter);
  f.reset = () => { tags = f.default ? f.default.split(f.delimiter).map((s) => s.trim()).filter(Boolean) : []; input.value = ''; render(); };
  f.reset();
  return el('div', { class: 'field wide' }, label, box, datalist,
    el('span', { class: 'hint', id: hintId, text: `members, separated by "${f.delimiter}" or Enter; ${f.members.length} seen in training` }));
}

function formValues() {
  const values = {};
  for (const f of meta.fields) values[f.column] = f.read();
  return values;
}

function formKey() { return JSON.stringify(formValues()); }

function changed() {
  clearTimeout(timer);
  timer = setTimeout(update, DEBOUNCE_MS);
}

// ---- the prediction -----------------------------------------------------------------------

function setStatus(text, error = false) {
  const s = byId('status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

async function update() {
  if (!session) return;
  const key = formKey();
  const values = JSON.parse(key);
  document.body.dataset.state = 'busy';
  try {
    const columns = Object.fromEntries(Object.entries(values).map(([c, v]) => [c, [v]]));
    const out = await predict(columns, 1);
    const why = explainer ? await explainRow(columns) : null;
    render(out, key, why);
    setStatus('');
    document.body.dataset.state = 'ready';
  } catch (e) {
    setStatus(e.message, true);
    byId('results').replaceChildren();
    document.body.dataset.state = e instanceof InputError ? 'ready' : 'error';
  }
}

function percent(p) { return Number.isFinite(p) ? `${(100 * p).toFixed(1)} %` : '–'; }

function render(out, key, why = null) {
  const sections = outputGroups().map((g) => {
    const result = el('output', { id: `result-${g.name}`, class: 'result', 'data-key': key });
    result.append(el('h3', { text: g.name }));
    if (g.label) {
      const label = out[g.label].data[0];
      result.dataset.label = label;
      result.append(el('p', { class: 'label', text: label === '' ? '(none)' : label }));
    }
    if (g.value) {
      const value = out[g.value].data[0];
      result.dataset.value = JSON.stringify(Number.isFinite(value) ? value : null);
      result.append(el('p', { class: 'label', text: Number.isFinite(value) ? numberText(value) : String(value) }));
    }
    if (g.probabilities) {
      const t = out[g.probabilities];
      const width = t.dims[1] ?? t.data.length;
      const probs = t.data.slice(0, width);
      result.dataset.probabilities = JSON.stringify(probs);
      const classes = g.classes || probs.map((_, i) => String(i));
      const best = probs.indexOf(Math.max(...probs));
      const rows = probs.map((p, i) => el('li', { class: i === best ? 'best' : '' },
        el('span', { class: 'name', text: classes[i] }),
        el('span', { class: 'track', 'aria-hidden': 'true' }, el('span', { class: 'fill', style: `width:${Math.max(0, Math.min(1, p)) * 100}%` })),
        el('span', { class: 'pct', text: percent(p) })));
      result.append(el('ul', { class: 'bars', 'aria-label': `${g.name} probabilities` }, ...rows));
    }
    if (why) tkExplain.bars(result, g.name, why[g.name], explainer.info);
    return result;
  });
  byId('results').replaceChildren(...sections);
}

// ---- CSV: RFC 4180 (quoted fields, "" escapes, CRLF or LF), header row; cells written by csvField (csv.js) --

function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false, i = 0, wasQuoted = false;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '' && !wasQuoted) { quoted = true; wasQuoted = true; }
    else if (c === ',') { row.push(field); field = ''; wasQuoted = false; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = ''; wasQuoted = false;
    } else field += c;
  }
  if (quoted) throw new InputError('the file ends inside a quoted field');
  if (field !== '' || row.length || wasQuoted) { row.push(field); rows.push(row); }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

async function predictCsv(file) {
  const status = byId('csv-status'), link = byId('csv-download');
  status.classList.remove('error');
  link.hidden = true;
  if (link.href) URL.revokeObjectURL(link.href);
  document.body.dataset.csv = 'busy';
  try {
    const rows = parseCsv(await file.text());
    if (!rows.length) throw new InputError('no header row');
    const header = rows[0], body = rows.slice(1);
    const missing = meta.fields.map((f) => f.column).filter((c) => !header.includes(c));
    if (missing.length) throw new InputError(`missing column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (the model needs: ${meta.fields.map((f) => f.column).join(', ')})`);
    body.forEach((r, i) => {
      if (r.length !== header.length) throw new InputError(`row ${i + 1} has ${r.length} fields, the header has ${header.length}`);
    });
    const groups = outputGroups();
    const outHeader = [...header];
    for (const g of groups) {
      if (g.label) outHeader.push(g.label);
      if (g.probabilities) (g.classes || []).forEach((c) => outHeader.push(`${g.name}::probability::${c}`));
      if (g.value) outHeader.push(g.value);
    }
    const lines = [outHeader.map(csvField).join(',')];
    for (let start = 0; start < body.length; start += CSV_BATCH) {
      const chunk = body.slice(start, start + CSV_BATCH);
      const columns = {};
      for (const f of meta.fields) {
        const k = header.indexOf(f.column);
        columns[f.column] = chunk.map((r) => r[k]);
      }
      let out;
      try { out = await predict(columns, chunk.length); } catch (e) {
        throw e instanceof InputError ? new InputError(e.message.replace(/^row (\d+)/, (_, r) => `row ${start + Number(r)}`)) : e;
      }
      chunk.forEach((r, i) => {
        const cells = [...r];
        for (const g of groups) {
          if (g.label) cells.push(out[g.label].data[i]);
          if (g.probabilities) {
            const w = out[g.probabilities].dims[1];
            cells.push(...out[g.probabilities].data.slice(i * w, (i + 1) * w));
          }
          if (g.value) cells.push(out[g.value].data[i]);
        }
        lines.push(cells.map(csvField).join(','));
      });
      status.textContent = `predicted ${Math.min(start + CSV_BATCH, body.length)} of ${body.length} rows…`;
    }
    link.href = URL.createObjectURL(new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv' }));
    link.download = file.name.replace(/\.csv$/i, '') + '.predictions.csv';
    link.textContent = `Download ${link.download} (${body.length} rows)`;
    link.hidden = false;
    status.textContent = `${body.length} rows predicted.`;
    document.body.dataset.csv = 'done';
  } catch (e) {
    status.textContent = `${file.name}: ${e.message}`;
    status.classList.add('error');
    document.body.dataset.csv = 'error';
  }
}

// ---- start --------------------------------------------------------------------------------

async function main() {
  try {
    if (typeof ort === 'undefined') throw new Error('ort/ort.wasm.min.js did not load: re-run tk export --web');
    const base = new URL('ort/', document.baseURI).href;
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one runs on any static host
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = { mjs: `${base}ort-wasm-simd-threaded.mjs`, wasm: `${base}ort-wasm-simd-threaded.wasm` };
    const response = await fetch('model.onnx');
    if (!response.ok) throw new Error(`model.onnx: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const props = readMetadata(bytes);
    if (!props['tk.web']) throw new Error('model.onnx has no tk.web metadata: export it with tk export --web');
    meta = parseJson(props['tk.web'], 'tk.web');
    meta.outputs = parseJson(props['tk.outputs'] || '[]', 'tk.outputs');
    meta.features = parseJson(props['tk.features'] || '{}', 'tk.features');
    document.title = `${meta.title} · tk`;
    byId('title').textContent = meta.title;
    const fields = byId('fields');
    fields.replaceChildren(...meta.fields.map(buildField));
    const form = byId('form');
    form.addEventListener('input', changed);
    form.addEventListener('change', changed);
    form.addEventListener('submit', (e) => { e.preventDefault(); changed(); });
    byId('reset').addEventListener('click', () => { meta.fields.forEach((f) => f.reset()); changed(); });
    byId('csv-file').addEventListener('change', (e) => { if (e.target.files[0]) predictCsv(e.target.files[0]); });
    const metrics = parseJson(props['tk.metrics'] || '{}', 'tk.metrics');
    const shown = Object.entries(metrics).flatMap(([o, m]) => (typeof m === 'object' && m
      ? Object.entries(m).map(([k, v]) => `${o} ${k} ${typeof v === 'number' ? v.toFixed(3) : v}`) : [])).slice(0, 6);
    byId('footer').replaceChildren(
      el('p', { text: `tk ${props['tk.version'] || '?'} · onnxruntime-web ${ort.env.versions?.web || ''} (WebAssembly, in this browser)` }),
      el('p', { text: shown.length ? `validation: ${shown.join(' · ')}` : '' }),
      el('p', { text: meta.defaults_from === 'features.json'
        ? 'defaults: the values the model fills in for missing ones (features.json)'
        : `defaults from ${meta.defaults_from} (median for numbers, most frequent otherwise)` }));
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    explainer = await tkExplain.start(ort, bytes, props, { executionProviders: ['wasm'] });
    setStatus('');
    await update();
  } catch (e) {
    setStatus(`Cannot start: ${e.message}`, true);
    document.body.dataset.state = 'error';
  }
}

window.tkPage = { formKey, formValues, parseCsv, fields: () => (meta ? meta.fields.map(({ read, reset, ...f }) => f) : []) };
main();
