#!/usr/bin/env node
// Run a tk ONNX file in onnxruntime-node (native) or onnxruntime-web (WebAssembly), no Python.
//
//   node predict.js model.onnx rows.json [--wasm] [--explain] [--threads N] [--repeat N]
//
// rows.json: a list of records  [{"tenure": 3, "contract": "Month-to-month"}, ...]
//            or a dict of columns {"tenure": [3, null], "contract": ["Month-to-month", ""]}.
// Prints {"<output>": [...]} for every output tensor (labels, probabilities [N][C], values); with --explain
// also the attributions (`<output>::attributions` [N][P], inputs named in the metadata's tk.explain).
//
// Input names and types come from the session (one input per raw column, shape [N], float32 or
// string), coerced like toolkit.runtime.predictor.Predictor coerces them:
//   float32 inputs: numbers pass; null / a missing field / "" / "NaN" / "NA" → NaN;
//                   numeric strings (" 3.5 ", "1e3", "Infinity", "-inf") are parsed; true/false → 1/0.
//   string inputs:  strings pass; null / a missing field → ""; numbers print as Python prints them
//                   (1.0 → "1"); true/false → "true"/"false".
// JSON has no NaN or Infinity: write null for NaN and the strings "Infinity" / "-Infinity".
// A record may omit a field (it is then missing); a dict of columns must hold every column.
// Anything else (an object, a list, "abc" for a number) is an error naming the row and column.
//
// --wasm     onnxruntime-web's WebAssembly backend, loaded from node_modules (never a CDN):
//            the same engine a browser runs.
// --explain  feed tk::explain = true: the file's explain branch runs (without it, it does not).
// --threads  intra-op threads (default 1: fastest for a few rows and comparable across backends).
// --repeat   also time N runs of the same feed (after a warm-up); the median in µs goes to stderr.
'use strict';

const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const USAGE = 'usage: node predict.js model.onnx rows.json [--wasm] [--explain] [--threads N] [--repeat N]';
const MISSING_WORDS = new Set(['', 'nan', 'na', 'n/a', 'null', 'none']);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const INFINITY = /^([+-]?)(inf|infinity)$/i;

class InputError extends Error {}

function parseArgs(argv) {
  const opts = { wasm: false, explain: false, threads: 1, repeat: 0, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--wasm') opts.wasm = true;
    else if (a === '--explain') opts.explain = true;
    else if (a === '--threads' || a === '--repeat') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < (a === '--threads' ? 1 : 0)) throw new InputError(`${a}: expected an integer, got ${argv[i]}`);
      opts[a.slice(2)] = v;
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith('--')) throw new InputError(`unknown option ${a}\n${USAGE}`);
    else opts.files.push(a);
  }
  if (opts.files.length !== 2) throw new InputError(USAGE);
  return opts;
}

function loadOrt(wasm) {
  if (!wasm) return require('onnxruntime-node');
  // Under Node, `require('onnxruntime-web')` resolves to dist/ort.node.min.js (WebAssembly CPU backend).
  // Point it at the .wasm/.mjs files beside it, so nothing is fetched at run time.
  const ort = require('onnxruntime-web');
  const dist = path.dirname(require.resolve('onnxruntime-web'));
  ort.env.wasm.wasmPaths = pathToFileURL(dist + path.sep).href;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation in a browser; 1 runs everywhere
  ort.env.wasm.proxy = false;
  return ort;
}

// ---- input ---------------------------------------------------------------------------------

function toFloat(v, where) {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const s = v.trim();
    if (MISSING_WORDS.has(s.toLowerCase())) return NaN;
    const inf = INFINITY.exec(s);
    if (inf) return inf[1] === '-' ? -Infinity : Infinity;
    if (DECIMAL.test(s)) return Number(s);
  }
  throw new InputError(`${where}: expected a number, got ${describe(v)}`);
}

function toText(v, where) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '';
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    return pythonFloat(v);
  }
  throw new InputError(`${where}: expected a string, got ${describe(v)}`);
}

function pythonFloat(v) { // Python's repr(float): inf, 1e+30, 0.5
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const s = String(v);
  return s.includes('e') || s.includes('.') ? s : `${s}.0`;
}

function describe(v) {
  const kind = Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v;
  const text = JSON.stringify(v);
  return `${kind} ${text.length > 60 ? text.slice(0, 57) + '...' : text}`;
}

/** rows.json → {column: array of N raw values}, N. */
function readColumns(data, names) {
  if (Array.isArray(data)) {
    data.forEach((r, i) => {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) {
        throw new InputError(`rows[${i}]: expected an object of column values, got ${describe(r)}`);
      }
    });
    const cols = {};
    for (const name of names) cols[name] = data.map((r) => r[name]);
    return [cols, data.length];
  }
  if (data !== null && typeof data === 'object') {
    const missing = names.filter((n) => !(n in data));
    if (missing.length) {
      throw new InputError(`missing column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (the model needs: ${names.join(', ')})`);
    }
    for (const n of names) {
      if (!Array.isArray(data[n])) throw new InputError(`column ${n}: expected a list of values, got ${describe(data[n])}`);
    }
    const n = names.length ? data[names[0]].length : 0;
    for (const name of names) {
      if (data[name].length !== n) throw new InputError(`column ${name}: ${data[name].length} values, but column ${names[0]} has ${n}`);
    }
    return [data, n];
  }
  throw new InputError(`expected a list of records or a dict of columns, got ${describe(data)}`);
}

function makeFeeds(ort, session, data) {
  const meta = session.inputMetadata;
  const [cols, n] = readColumns(data, meta.map((m) => m.name));
  const feeds = {};
  for (const m of meta) {
    const values = cols[m.name];
    if (m.type === 'float32') {
      feeds[m.name] = new ort.Tensor('float32', Float32Array.from(values, (v, i) => toFloat(v, `rows[${i}].${m.name}`)), [n]);
    } else if (m.type === 'string') {
      feeds[m.name] = new ort.Tensor('string', values.map((v, i) => toText(v, `rows[${i}].${m.name}`)), [n]);
    } else {
      throw new InputError(`input ${m.name}: type ${m.type} is not a tk raw column type (float32 or string)`);
    }
  }
  return [feeds, n];
}

// ---- output --------------------------------------------------------------------------------

function plain(tensor) { // typed array → JSON-friendly array, nested by dims
  let flat = Array.from(tensor.data);
  if (tensor.type === 'int64' || tensor.type === 'uint64') flat = flat.map(Number);
  if (tensor.type === 'bool') flat = flat.map(Boolean);
  const dims = tensor.dims.length ? tensor.dims : [1];
  const nest = (offset, d) => {
    if (d === dims.length - 1) return flat.slice(offset, offset + dims[d]);
    const step = dims.slice(d + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[d] }, (_, i) => nest(offset + i * step, d + 1));
  };
  return tensor.dims.length ? nest(0, 0) : flat[0];
}

// The file's explain branch runs when its input tk::explain (default false) is true. onnxruntime's JS API
// passes only required inputs, so the default itself is turned on, in a copy of the bytes: the tensor's
// serialized bytes "off" → "on" (same length), as the metadata's tk.explain.switch gives them.
function explainOn(bytes, where) {
  const hex = (h) => Buffer.from(h, 'hex');
  const found = (pattern) => { const i = bytes.indexOf(pattern); return i >= 0 && bytes.indexOf(pattern, i + 1) < 0 ? i : -1; };
  const text = bytes.toString('latin1');
  const m = /"switch": \{"off": "([0-9a-f]+)", "on": "([0-9a-f]+)"\}/.exec(text);
  const at = m ? found(hex(m[1])) : -1;
  if (at < 0) throw new InputError(`${where}: this model.onnx has no explanations (written by an older tk); add them without retraining: tk export MODEL_DIR --rebuild`);
  const copy = Buffer.from(bytes);
  hex(m[2]).copy(copy, at);
  return copy;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const [modelPath, rowsPath] = opts.files;
  if (!fs.existsSync(modelPath)) throw new InputError(`${modelPath}: no such ONNX file`);
  const data = JSON.parse(fs.readFileSync(rowsPath, 'utf8'));
  const ort = loadOrt(opts.wasm);
  let bytes = fs.readFileSync(modelPath);
  if (opts.explain) bytes = explainOn(bytes, modelPath);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [opts.wasm ? 'wasm' : 'cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const [feeds, n] = makeFeeds(ort, session, data);
  const explained = (name) => name.endsWith('::attributions') || name.endsWith('::class_attributions');
  const names = session.outputNames.filter((name) => opts.explain || !explained(name));
  const result = {};
  if (n === 0) { // string ops (StringNormalizer) fail on 0 rows: answer without running
    for (const name of names) result[name] = [];
  } else {
    const out = await session.run(feeds, names);
    for (const name of names) result[name] = plain(out[name]);
    if (opts.repeat > 0) {
      for (let i = 0; i < Math.min(100, opts.repeat); i++) await session.run(feeds, names); // warm-up
      const times = [];
      for (let i = 0; i < opts.repeat; i++) {
        const t0 = process.hrtime.bigint();
        await session.run(feeds, names);
        times.push(Number(process.hrtime.bigint() - t0) / 1e3);
      }
      times.sort((a, b) => a - b);
      const backend = opts.wasm ? 'onnxruntime-web (wasm)' : 'onnxruntime-node';
      console.error(`${backend}: ${n} row(s), median ${times[times.length >> 1].toFixed(1)} µs over ${opts.repeat} runs`);
    }
  }
  if (typeof session.release === 'function') await session.release();
  // Exit once stdout is flushed: the wasm engine otherwise keeps Node alive for seconds after.
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

main().catch((e) => {
  const message = e instanceof InputError ? e.message : `${e && e.message ? e.message : e}`;
  console.error(`predict.js: ${message}`);
  process.exit(e instanceof InputError ? 2 : 1);
});
