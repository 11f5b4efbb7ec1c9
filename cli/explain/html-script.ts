// The renderer of `looped explain --html`'s page (cli/explain/html.ts inlines it in a <script>
// element after the data block). It reads the PageData JSON from #looped-data and builds the page
// with DOM calls only (textContent, never innerHTML), so labels with < > & or quotes show as written.
// Plain ES2017 without template literals: it sits inside one here.
export const SCRIPT = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('looped-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var DECODED_LIMIT = 64;
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(x) {
    if (typeof x === 'string') return x === 'Infinity' ? '\u221e' : x === '-Infinity' ? '-\u221e' : x;
    if (Number.isInteger(x)) return String(x);
    return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? x.toFixed(4).replace(/\.?0+$/, '') : x.toExponential(3);
  }
  function row(tr, cells, tag) {
    cells.forEach(function (c) { tr.appendChild(el(tag || 'td', null, c)); });
    return tr;
  }
  function table(head, rows) {
    var t = el('table');
    var th = el('thead'); th.appendChild(row(el('tr'), head, 'th')); t.appendChild(th);
    var tb = el('tbody');
    rows.forEach(function (r) { tb.appendChild(row(el('tr'), r)); });
    t.appendChild(tb);
    return t;
  }
  // Colours: green for +, red for -, white for 0, by |v| / max|v| of the map (probabilities: blue by weight).
  function colour(v, max, kind) {
    if (kind === 'prob') {
      var a = Math.max(0, Math.min(1, v));
      return 'rgba(30, 90, 200, ' + (a === 0 ? 0 : 0.12 + 0.88 * a).toFixed(3) + ')';
    }
    if (v === 0 || max === 0) return '#ffffff';
    var s = Math.min(1, Math.abs(v) / max);
    return 'rgba(' + (v > 0 ? '22, 135, 60' : '200, 40, 40') + ', ' + (0.15 + 0.85 * s).toFixed(3) + ')';
  }
  // A heatmap in SVG: row labels on the left, column labels on top (rotated), subspace bands and
  // separators, a tooltip per cell.
  function heatmap(h, kind, maxWidth) {
    var R = h.rows.labels.length, C = h.cols.labels.length;
    var cell = Math.max(3, Math.min(16, Math.floor((maxWidth || 760) / Math.max(1, C))));
    var showRow = cell >= 9, showCol = cell >= 9;
    var font = Math.min(11, cell - 1);
    var longest = function (xs) { return xs.reduce(function (m, s) { return Math.max(m, String(s).length); }, 0); };
    var bandL = h.rows.groups.length > 1 || (h.rows.groups[0] && h.rows.groups[0].name) ? 12 + 6.5 * Math.min(12, longest(h.rows.groups.map(function (g) { return g.name; }))) : 0;
    var left = bandL + (showRow ? 8 + 6.6 * Math.min(16, longest(h.rows.labels)) : 4);
    var bandT = h.cols.groups.length > 1 || (h.cols.groups[0] && h.cols.groups[0].name) ? 16 : 0;
    var top = bandT + (showCol ? 10 + 6.2 * Math.min(16, longest(h.cols.labels)) : 4);
    var W = left + C * cell + 40, H = top + R * cell + 4;
    var svg = sv('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var max = 0;
    h.values.forEach(function (r) { r.forEach(function (v) { if (typeof v === 'number' && Math.abs(v) > max) max = Math.abs(v); }); });
    var g = sv('g');
    for (var i = 0; i < R; i++) {
      for (var j = 0; j < C; j++) {
        var v = h.values[i][j];
        var rect = sv('rect', { x: left + j * cell, y: top + i * cell, width: cell, height: cell, fill: colour(v, max, kind) });
        rect.appendChild(sv('title', null, h.rows.labels[i] + ' \u2192 ' + h.cols.labels[j] + ': ' + num(v)));
        g.appendChild(rect);
      }
    }
    svg.appendChild(g);
    svg.appendChild(sv('rect', { class: 'frame', x: left, y: top, width: C * cell, height: R * cell }));
    function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; }
    if (showRow) h.rows.labels.forEach(function (l, i) {
      svg.appendChild(sv('text', { x: left - 4, y: top + i * cell + cell / 2 + font / 3, 'font-size': font, 'text-anchor': 'end' }, clip(l, 16)));
    });
    if (showCol) h.cols.labels.forEach(function (l, j) {
      var x = left + j * cell + cell / 2 + font / 3, y = top - 4;
      svg.appendChild(sv('text', { x: x, y: y, 'font-size': font, transform: 'rotate(-60 ' + x + ' ' + y + ')' }, clip(l, 16)));
    });
    h.rows.groups.forEach(function (gr, k) {
      if (k > 0) svg.appendChild(sv('line', { class: 'sep', x1: bandL, x2: left + C * cell, y1: top + gr.start * cell, y2: top + gr.start * cell }));
      if (bandL && gr.size > 0) {
        var y = top + (gr.start + gr.size / 2) * cell + 4;
        svg.appendChild(sv('text', { x: 2, y: y, 'font-size': 11, 'font-weight': 'bold' }, clip(gr.name, 12)));
      }
    });
    h.cols.groups.forEach(function (gr, k) {
      if (k > 0) svg.appendChild(sv('line', { class: 'sep', y1: 2, y2: top + R * cell, x1: left + gr.start * cell, x2: left + gr.start * cell }));
      if (bandT && gr.size > 0) {
        var t = sv('text', { x: left + gr.start * cell + 2, y: 12, 'font-size': 11, 'font-weight': 'bold' }, clip(gr.name, Math.max(2, Math.floor(gr.size * cell / 7))));
        t.appendChild(sv('title', null, gr.name));
        svg.appendChild(t);
      }
    });
    return svg;
  }
  function figure(h, kind, maxWidth, caption) {
    var f = el('figure', { 'data-matrix': h.title });
    var cap = el('figcaption');
    cap.appendChild(el('b', null, caption || h.title));
    cap.appendChild(document.createTextNode(' ' + h.rows.dim + '\u00d7' + h.cols.dim + (h.nonzero !== undefined ? ', ' + h.nonzero + ' nonzero' : '')));
    f.appendChild(cap);
    if (h.downsampled) f.appendChild(el('div', { class: 'note' }, h.downsampled));
    f.appendChild(heatmap(h, kind, maxWidth));
    return f;
  }

  var root = document.getElementById('app');
  var c = D.construction;
  root.appendChild(el('h1', { id: 'construction' }, c.id));
  root.appendChild(el('div', null, c.theorem + ': ' + c.title));
  var ps = Object.keys(c.params).map(function (k) { return k + '=' + c.params[k]; }).join(' ');
  root.appendChild(el('div', { class: 'dim mono' }, ps ? 'parameters: ' + ps : 'no parameters'));
  root.appendChild(el('p', null, c.statement));
  root.appendChild(el('div', null, 'model ' + D.model.name + (D.model.description ? ' \u2014 ' + D.model.description : '')));
  var sz = D.model.sizes;
  root.appendChild(el('div', { class: 'dim' }, 'shape ' + sz.shape + ' \u00b7 width ' + sz.width + ' \u00b7 mlp ' + sz.mlpWidth + ' \u00b7 heads ' + sz.heads + '\u00d7' + sz.headDim + ' \u00b7 weights of the check \u201c' + D.model.check + '\u201d'));

  // 1. Verification summary.
  root.appendChild(el('h2', null, '1. Verification'));
  var V = D.verify;
  if (!V) root.appendChild(el('p', { class: 'dim' }, 'not run (--samples 0)'));
  else {
    var sum = el('p', { id: 'verify-summary' });
    sum.appendChild(el('span', { class: V.ok ? 'ok' : 'bad' }, V.ok ? '\u2713 every check held' : '\u2717 a check failed'));
    sum.appendChild(document.createTextNode(' \u2014 ' + V.checks.length + ' checks, ' + D.verifyOptions.samples + ' samples each (seed ' + D.verifyOptions.seed + '), ' + num(V.ms / 1000) + ' s'));
    root.appendChild(sum);
    root.appendChild(table(['check', 'interpreter', 'samples', 'result', 'min attention margin', 'min logit margin', 'ms'], V.checks.map(function (k) {
      return [k.label, k.interpreter, String(k.samples), k.failed ? 'FAILED' : 'held', num(k.minAttentionMargin), num(k.minLogitMargin), String(Math.round(k.ms))];
    })));
    V.checks.forEach(function (k) {
      if (!k.counterexample) return;
      var p = el('p', { class: 'bad' }, 'counterexample for \u201c' + k.label + '\u201d: ' + k.counterexample.input + ' \u2014 ' + k.counterexample.message);
      root.appendChild(p);
      root.appendChild(el('div', { class: 'mono' }, k.counterexample.replay));
    });
    root.appendChild(el('h3', null, 'sizes: built and claimed'));
    root.appendChild(table(['size', 'claimed formula', 'claimed', 'built'], V.sizes.map(function (s) {
      var over = s.claimed !== null && s.built !== null && s.built > s.claimed;
      return [s.key, s.formula === null ? '\u2013' : s.formula, s.claimed === null ? '\u2013' : num(s.claimed), (s.built === null ? '\u2013' : num(s.built)) + (over ? ' (over the claim)' : '')];
    })));
    if (V.deviations) root.appendChild(el('p', { class: 'dim' }, 'deviations: ' + V.deviations));
  }

  // 2. Residual layout.
  root.appendChild(el('h2', null, '2. Residual stream (width ' + D.model.width + ')'));
  root.appendChild(table(['subspace', 'offset', 'width', 'holds'], D.residual.map(function (p) { return [p.name, String(p.offset), String(p.size), p.describe]; })));

  // 3. The run, loop by loop.
  var run = D.run, rv = run.view, L = run.loops;
  root.appendChild(el('h2', null, '3. Run loop by loop'));
  var info = el('div');
  info.appendChild(el('div', { class: 'mono', id: 'run-input' }, 'input ' + JSON.stringify(rv.input) + '  (' + run.source + ')'));
  info.appendChild(el('div', { class: 'mono' }, 'tokens ' + JSON.stringify(rv.tokens) + '   answer ' + JSON.stringify(rv.answer) + '   reference ' + JSON.stringify(rv.expected)));
  info.appendChild(el('div', { class: rv.correct ? 'ok' : 'bad' }, rv.correct ? '\u2713 the answer matches the reference' : '\u2717 the answer differs from the reference'));
  root.appendChild(info);
  var controls = el('div', { class: 'controls' });
  var prev = el('button', { id: 'prev', type: 'button', 'aria-label': 'previous loop' }, '\u25c0 prev');
  var slider = el('input', { id: 'loop-slider', type: 'range', min: '0', max: String(L.length - 1), step: '1', value: '0', 'aria-label': 'loop' });
  var next = el('button', { id: 'next', type: 'button', 'aria-label': 'next loop' }, 'next \u25b6');
  var label = el('span', { id: 'loop-label', 'aria-live': 'polite' });
  [prev, slider, next, label].forEach(function (x) { controls.appendChild(x); });
  root.appendChild(controls);
  var status = el('div', { id: 'loop-status', class: 'dim' });
  root.appendChild(status);
  root.appendChild(el('h3', null, 'residual stream (positions \u00d7 directions, lines between subspaces)'));
  var residualBox = el('div', { id: 'residual' });
  root.appendChild(residualBox);
  root.appendChild(el('h3', null, 'each subspace decoded (yellow: changed by this loop)'));
  var decodedBox = el('div', { id: 'decoded' });
  root.appendChild(decodedBox);
  root.appendChild(el('h3', null, 'attention patterns of this loop (query position \u00d7 key position)'));
  var patternsBox = el('div', { id: 'patterns', class: 'grid' });
  root.appendChild(patternsBox);

  function show(t) {
    t = Math.max(0, Math.min(L.length - 1, t));
    var lp = L[t], st = rv.loops[t];
    slider.value = String(t);
    prev.disabled = t === 0;
    next.disabled = t === L.length - 1;
    label.textContent = lp.label;
    document.body.setAttribute('data-loop', String(t));
    var bits = ['trace key ' + lp.key];
    if (st && st.lockstep) bits.push(st.lockstep.matches ? 'lockstep \u2713 equals the algorithm after round ' + t : 'lockstep \u2717 differs from the algorithm');
    if (st) bits.push('readout here ' + JSON.stringify(st.readout.answer) + (st.readout.equalsReference ? ' = the reference' : ' (not the reference yet)'));
    status.textContent = bits.join('  \u00b7  ');
    residualBox.textContent = '';
    residualBox.appendChild(figure(lp.residual, 'signed', 1100, 'residual ' + lp.key));
    decodedBox.textContent = '';
    if (st) {
      var names = Object.keys(st.state);
      var n = names.length ? st.state[names[0]].length : 0;
      var shown = Math.min(n, DECODED_LIMIT);
      if (shown < n) decodedBox.appendChild(el('div', { class: 'note' }, 'positions 0\u2013' + (shown - 1) + ' of ' + n + ' shown'));
      var head = ['subspace']; for (var i = 0; i < shown; i++) head.push(String(i));
      var tbl = table(head, []);
      var tb = tbl.querySelector('tbody');
      names.forEach(function (name) {
        var tr = el('tr');
        tr.appendChild(el('th', null, name));
        st.state[name].slice(0, shown).forEach(function (cell) { tr.appendChild(el('td', { class: 'mono' + (t > 0 && st.changed.indexOf(name) >= 0 ? ' changed' : '') }, cell.kind === 'zero' ? '\u00b7' : cell.text)); });
        tb.appendChild(tr);
      });
      decodedBox.appendChild(tbl);
    }
    patternsBox.textContent = '';
    if (lp.patterns.length === 0) patternsBox.appendChild(el('p', { class: 'dim' }, t === 0 ? 'the embedding: no attention yet \u2014 step to loop 1' : 'no heads run in this loop'));
    lp.patterns.forEach(function (p) {
      patternsBox.appendChild(figure(p, 'prob', 360, 'stage ' + p.stage + ', layer ' + p.layer + ', head ' + p.head));
    });
  }
  prev.addEventListener('click', function () { show(Number(slider.value) - 1); });
  next.addEventListener('click', function () { show(Number(slider.value) + 1); });
  slider.addEventListener('input', function () { show(Number(slider.value)); });
  document.addEventListener('keydown', function (e) {
    if (e.target && e.target.tagName === 'INPUT') return;
    if (e.key === 'ArrowLeft') show(Number(slider.value) - 1);
    if (e.key === 'ArrowRight') show(Number(slider.value) + 1);
  });

  // 4. Weights.
  root.appendChild(el('h2', null, '4. Weights (rows \u2192 columns; green +, red \u2212, white 0; lines between subspaces)'));
  var where = null, box = null;
  D.matrices.forEach(function (h) {
    if (h.where !== where) {
      where = h.where;
      root.appendChild(el('h3', null, where));
      box = el('div', { class: 'grid' });
      root.appendChild(box);
    }
    box.appendChild(figure(h, 'signed', 760));
  });
  show(0);
  document.body.setAttribute('data-ready', 'true');
})();
`;
