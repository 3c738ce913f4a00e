// Why this prediction: the file's explain branch (toolkit/export/explain.py) for the row in the form.
//
// model.onnx computes attributions when its input tk::explain (default false) is true. onnxruntime-web
// passes only required inputs, so a second session is made from a copy of the bytes in which that
// default is turned on: the metadata's tk.explain.switch gives the tensor's serialized bytes off → on
// (same length, found exactly once). Per output, the attributions add up to the row's score (log-odds,
// value, top class's logit) minus tk.explain.baseline; each input gets a bar, right for a push up.
// For tests: each result <output> gets data-attributions (JSON [P], float32 as computed) and data-why
// (JSON, the input names in the same order).
'use strict';

const tkExplain = (() => {
  const hex = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));

  function find(bytes, pattern) {
    let at = -1;
    outer: for (let i = bytes.indexOf(pattern[0]); i >= 0 && i <= bytes.length - pattern.length; i = bytes.indexOf(pattern[0], i + 1)) {
      for (let k = 1; k < pattern.length; k++) if (bytes[i + k] !== pattern[k]) continue outer;
      if (at >= 0) return -1; // twice: refuse rather than guess
      at = i;
    }
    return at;
  }

  /** A session computing attributions, or null when the file has none (an older tk). */
  async function start(ort, bytes, props, options) {
    if (!props['tk.explain']) return null;
    const info = JSON.parse(props['tk.explain']);
    const at = info.switch ? find(bytes, hex(info.switch.off)) : -1;
    if (at < 0) return null;
    const copy = bytes.slice();
    copy.set(hex(info.switch.on), at);
    return { info, session: await ort.InferenceSession.create(copy, options) };
  }

  /** {output name: Float32Array [P]} for one row's feeds. */
  async function run(explainer, feeds) {
    const names = explainer.session.outputNames.filter((n) => n.endsWith('::attributions'));
    const out = await explainer.session.run(feeds, names);
    return Object.fromEntries(names.map((n) => [n.slice(0, -'::attributions'.length), out[n].data]));
  }

  const signed = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toPrecision(3)}`;

  /** Bars per input into `result` (the output's <output> element), largest first. */
  function bars(result, name, values, info) {
    if (!values) return;
    const players = info.players;
    result.dataset.attributions = JSON.stringify(Array.from(values));
    result.dataset.why = JSON.stringify(players);
    const scale = Math.max(...Array.from(values, Math.abs)) || 1;
    const order = players.map((_, i) => i).sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]));
    const baseline = info.baseline[name];
    const items = order.map((i) => {
      const v = values[i], width = `${(50 * Math.abs(v)) / scale}%`;
      return el('li', { class: v >= 0 ? 'up' : 'down' },
        el('span', { class: 'name', text: players[i] }),
        el('span', { class: 'track', 'aria-hidden': 'true' },
          el('span', { class: 'fill', style: v >= 0 ? `left:50%;width:${width}` : `right:50%;width:${width}` })),
        el('span', { class: 'pct', text: signed(v) }));
    });
    const what = typeof baseline === 'number' ? ` from the baseline ${Number(baseline.toPrecision(4))}` : '';
    result.append(el('details', { class: 'why', open: true },
      el('summary', { text: `Why: each input's push on the score${what}` }),
      el('ul', { class: 'bars why-bars', 'aria-label': `${name}: why` }, ...items)));
  }

  return { start, run, bars };
})();
