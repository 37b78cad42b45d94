// The FitService playground: the lesson's sliders and live loss, then a real fit through the public API.
// Plain JavaScript, no build step, no network but this service.
'use strict';

// The lesson's 20 points: f(x) = 3x² + 2x + 1 plus noise, numpy seed 42 (as src/Engine/LessonData.cs).
const LESSON = {
  x: [-2.0, -1.7894736842105263, -1.5789473684210527, -1.368421052631579, -1.1578947368421053,
    -0.9473684210526316, -0.736842105263158, -0.5263157894736843, -0.3157894736842106, -0.10526315789473695,
    0.10526315789473673, 0.3157894736842106, 0.5263157894736841, 0.7368421052631575, 0.9473684210526314,
    1.1578947368421053, 1.3684210526315788, 1.5789473684210522, 1.789473684210526, 2.0],
  y: [11.869037259947495, 6.5432843586588545, 5.939606579202841, 2.6303700318270353, 1.7947412121991926,
    1.9010286691658997, -0.2977375638897217, 1.4315452929860846, -0.2803804699240482, 0.45212987376369906,
    0.2547498278860447, 4.574284186082602, 2.968071084513697, 1.3385438382815777, 5.37544094093368,
    4.887778985586678, 8.246675990830116, 9.246153973833827, 10.26118714933485, 13.693917415398694],
  params: [1.1, 1.1, 1.1],
};
const MAX_DEGREE = 10;
const SLIDER_RANGE = 10;
const SVG_NS = 'http://www.w3.org/2000/svg';
const KEY_STORAGE = 'fitservice.apiKey';

const state = {
  x: [...LESSON.x],
  y: [...LESSON.y],
  params: [...LESSON.params],
  model: 'polynomial', // or 'relu': y = Σⱼ vⱼ·relu(aⱼx + bⱼ) + c, the lesson's sum of ReLUs
  units: 2,
  initial: null, // the params a running or finished fit started from (dashed curve)
  view: null, // data ranges of the chart, fixed while points are drawn
  fit: null, // { id, controller }
};

const $ = (id) => document.getElementById(id);

// ---- the model and the losses, exactly as the engine computes them ----

/** p[0]·x^d + … + p[d] by Horner's rule. */
function polynomial(params, x) {
  let y = params[0];
  for (let k = 1; k < params.length; k++) y = y * x + params[k];
  return y;
}

/**
 * Σⱼ vⱼ·max(0, aⱼx + bⱼ) + c with params in PyTorch's state_dict order of nn.Sequential(nn.Linear(1, k), nn.ReLU(),
 * nn.Linear(k, 1)): a₁…aₖ, b₁…bₖ, v₁…vₖ, c.
 */
function reluSum(params, x) {
  const k = (params.length - 1) / 3;
  let y = params[3 * k];
  for (let j = 0; j < k; j++) y += params[2 * k + j] * Math.max(0, params[j] * x + params[k + j]);
  return y;
}

/** The model of the page at x: the polynomial, or the sum of ReLUs. */
const model = (params, x) => (state.model === 'relu' ? reluSum(params, x) : polynomial(params, x));

/** MAE: mean |r|; MSE: mean r²; Huber: mean of ½r² where |r| < δ, else δ(|r| − ½δ). */
function loss(kind, params, xs, ys, delta) {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    const r = model(params, xs[i]) - ys[i];
    const a = Math.abs(r);
    if (kind === 'mse') sum += r * r;
    else if (kind === 'huber') sum += a < delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
    else sum += a;
  }
  return sum / xs.length;
}

const format4 = (v) => (v === null || v === undefined || !Number.isFinite(v) ? 'not finite' : v.toFixed(4));
const lossKind = () => $('loss').value;
const huberDelta = () => Number($('huber-delta').value) || 1;
const degree = () => Number($('degree').value);

// ---- drawing (inline SVG, by hand) ----

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** About `count` round tick values covering [lo, hi]. */
function ticks(lo, hi, count = 6) {
  if (!(hi > lo)) { lo -= 1; hi += 1; }
  const raw = (hi - lo) / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / power;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const out = [];
  // Beyond 4 decimals a fixed label ("0.0000000002") is wider than the margin: write it as 2e-10 instead.
  const label = (v) => (Math.abs(v) < step / 2 ? '0' : decimals > 4 ? v.toExponential(Math.max(0, Math.round(Math.log10(Math.abs(v) / step)))) : v.toFixed(decimals));
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push({ value: v, label: label(v) });
  return out;
}

/** A frame with axes; returns the data → pixel maps. */
function frame(svg, width, height, view, xTitle, yTitle) {
  const m = { left: 52, right: 12, top: 12, bottom: 36 };
  const sx = (v) => m.left + ((v - view.xmin) / (view.xmax - view.xmin)) * (width - m.left - m.right);
  const sy = (v) => height - m.bottom - ((v - view.ymin) / (view.ymax - view.ymin)) * (height - m.top - m.bottom);
  const grid = el('g', { class: 'grid' });
  const axis = el('g', { class: 'axis' });
  for (const t of ticks(view.xmin, view.xmax)) {
    grid.append(el('line', { x1: sx(t.value), x2: sx(t.value), y1: m.top, y2: height - m.bottom }));
    axis.append(el('text', { x: sx(t.value), y: height - m.bottom + 16, 'text-anchor': 'middle' }, t.label));
  }
  for (const t of ticks(view.ymin, view.ymax, 5)) {
    grid.append(el('line', { x1: m.left, x2: width - m.right, y1: sy(t.value), y2: sy(t.value) }));
    axis.append(el('text', { x: m.left - 6, y: sy(t.value) + 4, 'text-anchor': 'end' }, t.label));
  }
  axis.append(el('line', { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom, stroke: '#333' }));
  axis.append(el('line', { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom, stroke: '#333' }));
  axis.append(el('text', { x: (m.left + width - m.right) / 2, y: height - 4, 'text-anchor': 'middle' }, xTitle));
  axis.append(el('text', { x: 12, y: height / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${height / 2})` }, yTitle));
  svg.append(grid, axis);
  return { sx, sy, m, width, height };
}

function curvePath(params, view, sx, sy) {
  let d = '';
  const n = 200;
  for (let i = 0; i <= n; i++) {
    const x = view.xmin + ((view.xmax - view.xmin) * i) / n;
    const y = model(params, x);
    if (!Number.isFinite(y)) continue;
    // Clamp far-away values so the path stays drawable; the clip rectangle hides them.
    const py = Math.max(-1e4, Math.min(1e4, sy(y)));
    d += `${d ? 'L' : 'M'}${sx(x).toFixed(1)},${py.toFixed(1)}`;
  }
  return d;
}

function fitView() {
  if (state.x.length === 0) return { xmin: -3, xmax: 3, ymin: -5, ymax: 15 };
  const pad = (lo, hi) => { const s = hi - lo || Math.abs(hi) || 1; return [lo - s * 0.08, hi + s * 0.08]; };
  const [xmin, xmax] = pad(Math.min(...state.x), Math.max(...state.x));
  const [ymin, ymax] = pad(Math.min(...state.y), Math.max(...state.y));
  return { xmin, xmax, ymin, ymax };
}

function drawChart() {
  const svg = $('chart');
  const desc = $('chart-desc');
  svg.replaceChildren(desc);
  const view = state.view;
  const f = frame(svg, 640, 400, view, 'x', 'y');
  const clip = el('clipPath', { id: 'chart-clip' });
  clip.append(el('rect', { x: f.m.left, y: f.m.top, width: 640 - f.m.left - f.m.right, height: 400 - f.m.top - f.m.bottom }));
  svg.append(clip);
  if (state.initial) {
    svg.append(el('path', { id: 'initial-curve', d: curvePath(state.initial, view, f.sx, f.sy), fill: 'none', stroke: '#888', 'stroke-width': 2, 'stroke-dasharray': '6 4', 'clip-path': 'url(#chart-clip)' }));
  }
  svg.append(el('path', { id: 'curve', d: curvePath(state.params, view, f.sx, f.sy), fill: 'none', stroke: '#d62728', 'stroke-width': 2.5, 'clip-path': 'url(#chart-clip)' }));
  const points = el('g', { id: 'points', fill: '#1f77b4' });
  const step = Math.max(1, Math.ceil(state.x.length / 2000)); // thinned for drawing only
  for (let i = 0; i < state.x.length; i += step) points.append(el('circle', { cx: f.sx(state.x[i]), cy: f.sy(state.y[i]), r: 4 }));
  svg.append(points);
  svg.onclick = (event) => addPointAt(event, f);
}

function addPointAt(event, f) {
  if (!$('draw-mode').checked) return;
  const box = $('chart').getBoundingClientRect();
  const px = ((event.clientX - box.left) / box.width) * f.width;
  const py = ((event.clientY - box.top) / box.height) * f.height;
  const v = state.view;
  const x = v.xmin + ((px - f.m.left) / (f.width - f.m.left - f.m.right)) * (v.xmax - v.xmin);
  const y = v.ymin + ((f.height - f.m.bottom - py) / (f.height - f.m.top - f.m.bottom)) * (v.ymax - v.ymin);
  state.x.push(Number(x.toFixed(3)));
  state.y.push(Number(y.toFixed(3)));
  pointsChanged(false);
}

/** A fit's history as (step, loss) pairs: entry i is the loss before update i·every. */
const entries = (history, every) => (history || []).map((loss, i) => ({ step: i * every, loss }));

/** The loss chart: (step, loss) pairs so far and, once ended, the final loss at the last step. */
function drawLossChart(points, steps, finalLoss, finalStep = steps) {
  const svg = $('loss-chart');
  const desc = $('loss-chart-desc');
  svg.replaceChildren(desc);
  const values = points.map((p) => p.loss).filter((v) => v !== null && Number.isFinite(v));
  // An empty chart (no fit yet) gets a plain 0–1 scale rather than one around 1e-9.
  const known = values.length > 0 || Number.isFinite(finalLoss);
  const top = known ? Math.max(...values, finalLoss ?? 0, 1e-9) : 1;
  const view = { xmin: 0, xmax: Math.max(steps, 1), ymin: 0, ymax: top * 1.08 };
  const f = frame(svg, 640, 220, view, 'step', 'loss');
  let d = '';
  for (const p of points) {
    if (p.loss === null || !Number.isFinite(p.loss)) continue;
    d += `${d ? 'L' : 'M'}${f.sx(p.step).toFixed(1)},${f.sy(p.loss).toFixed(1)}`;
  }
  svg.append(el('path', { id: 'loss-curve', d, fill: 'none', stroke: '#1f77b4', 'stroke-width': 2 }));
  if (finalLoss !== null && finalLoss !== undefined && Number.isFinite(finalLoss)) {
    const x = f.sx(finalStep);
    const y = f.sy(finalLoss);
    svg.append(el('circle', { cx: x, cy: y, r: 4, fill: '#d62728' }));
    svg.append(el('text', { id: 'loss-chart-final', x: x - 6, y: y - 8, 'text-anchor': 'end' }, `final loss ${format4(finalLoss)}`));
  }
}

// ---- sliders: one per coefficient, the loss live as you drag ----

const NAMES = 'abcdefghijklmnopqrstu';
const SUPERSCRIPT = ['', '', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹', '¹⁰'];
const term = (power) => (power === 0 ? '' : power === 1 ? '·x' : `·x${SUPERSCRIPT[power] ?? '^' + power}`);

/** A slider's name: a·x², b·x, c for the polynomial; a₁ (slope), b₁ (offset), v₁ (weight) of each ReLU, then c. */
function paramLabel(i) {
  if (state.model !== 'relu') return `${NAMES[i]}${term(state.params.length - 1 - i)}`;
  const k = state.units;
  const role = ['a', 'b', 'v'][Math.floor(i / k)];
  return role ? `${role}${i % k + 1}` : 'c';
}

function buildSliders() {
  const box = $('sliders');
  box.querySelectorAll('.slider').forEach((s) => s.remove());
  $('sliders-legend').textContent = state.model === 'relu'
    ? 'Parameters: y = Σ vⱼ·relu(aⱼ·x + bⱼ) + c'
    : 'Parameters (highest power first)';
  state.params.forEach((value, i) => {
    const row = document.createElement('div');
    row.className = 'slider';
    const label = document.createElement('label');
    label.htmlFor = `param-${i}`;
    label.textContent = paramLabel(i);
    const range = document.createElement('input');
    Object.assign(range, { type: 'range', id: `param-${i}`, step: '0.1' });
    range.setAttribute('aria-describedby', 'loss-value');
    const number = document.createElement('input');
    Object.assign(number, { type: 'number', id: `param-${i}-value`, step: 'any' });
    number.setAttribute('aria-label', `${paramLabel(i)} exact value`);
    range.addEventListener('input', () => setParam(i, Number(range.value)));
    number.addEventListener('change', () => { if (Number.isFinite(Number(number.value)) && number.value !== '') setParam(i, Number(number.value)); });
    row.append(label, range, number);
    box.append(row);
  });
  syncSliders();
}

function syncSliders() {
  state.params.forEach((value, i) => {
    const range = $(`param-${i}`);
    const number = $(`param-${i}-value`);
    if (!range) return;
    const span = Math.max(SLIDER_RANGE, Math.ceil(Math.abs(value)));
    range.min = String(-span);
    range.max = String(span);
    range.value = String(value);
    // Six significant digits fit the box; the params themselves keep every digit.
    if (document.activeElement !== number) number.value = String(Number(value.toPrecision(6)));
  });
}

function setParam(i, value) {
  state.params[i] = value;
  const number = $(`param-${i}-value`);
  if (document.activeElement !== number) number.value = String(value);
  update();
}

function update() {
  $('loss-name').textContent = { mae: 'MAE', mse: 'MSE', huber: 'Huber loss' }[lossKind()];
  $('loss-value').textContent = state.x.length ? format4(loss(lossKind(), state.params, state.x, state.y, huberDelta())) : 'no points';
  drawChart();
}

/**
 * Switches to the sum of <units> ReLUs, starting as the lesson's sliders do: ReLUs facing left and right in turn, hinged
 * across the points' x range, each of weight 1.
 */
function setReluModel(units) {
  const k = Math.max(1, Math.min(8, Math.trunc(units) || 1));
  state.model = 'relu';
  state.units = k;
  const lo = state.x.length ? Math.min(...state.x) : -2;
  const hi = state.x.length ? Math.max(...state.x) : 2;
  const a = [], b = [];
  for (let j = 0; j < k; j++) {
    const slope = j % 2 === 0 ? -1 : 1;
    const hinge = k === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * j) / (k - 1);
    a.push(slope);
    b.push(Number((-slope * hinge).toFixed(2)));
  }
  state.params = [...a, ...b, ...new Array(k).fill(1), 0];
  state.initial = null;
  showModelFields();
  buildSliders();
  update();
}

function setPolynomialModel(d) {
  state.model = 'polynomial';
  state.params = new Array(d + 1).fill(0);
  state.params[d - Math.min(d, 2)] = 1;
  state.initial = null;
  showModelFields();
  buildSliders();
  update();
}

function showModelFields() {
  const relu = state.model === 'relu';
  $('model').value = state.model;
  $('degree-field').hidden = relu;
  $('units-field').hidden = !relu;
  if (relu) $('units').value = String(state.units);
}

function setDegree(d) {
  // Keep the low-order coefficients where they are: the constant stays the constant.
  const next = new Array(d + 1).fill(0);
  for (let k = 0; k <= Math.min(d, state.params.length - 1); k++) next[d - k] = state.params[state.params.length - 1 - k];
  state.params = next;
  buildSliders();
  update();
}

// ---- points: the lesson's, pasted CSV, or drawn ----

function pointsChanged(rescale) {
  if (rescale || !state.view) state.view = fitView();
  $('points-summary').textContent = `${state.x.length} point${state.x.length === 1 ? '' : 's'}${$('draw-mode').checked ? ' — click the chart to add more' : ''}.`;
  update();
}

function parseCsv(text) {
  const x = [];
  const y = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line) continue;
    const cells = line.split(/[,;\t]/).map((c) => c.trim());
    const a = Number(cells[0]);
    const b = Number(cells[1]);
    if (cells.length !== 2 || cells[0] === '' || cells[1] === '' || !Number.isFinite(a) || !Number.isFinite(b)) {
      if (x.length === 0 && n === 0 && cells.length === 2) continue; // a header
      throw new Error(`line ${n + 1}: "${line}" is not two numbers x,y`);
    }
    x.push(a);
    y.push(b);
  }
  if (x.length === 0) throw new Error('no points found');
  return { x, y };
}

// ---- the API ----

function apiKey() { return localStorage.getItem(KEY_STORAGE) || ''; }

function headers(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (response.status === 401) throw new Error('The service needs an API key: enter it at the top and save it.');
  if (!response.ok) throw new Error(await problemText(response));
  return response;
}

async function problemText(response) {
  try {
    const problem = await response.json();
    const fields = problem.errors ? Object.entries(problem.errors).map(([k, v]) => `${k} ${v.join(', ')}`).join('; ') : '';
    return `${problem.title || response.statusText}${fields ? ': ' + fields : problem.detail ? ': ' + problem.detail : ''}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function fitRequest() {
  const num = (id) => Number($(id).value);
  const optimizer = $('optimizer').value === 'adam'
    ? { type: 'adam', beta1: num('beta1'), beta2: num('beta2') }
    : { type: 'sgd', momentum: num('momentum') };
  const type = $('schedule').value;
  const schedule = { type };
  if (type === 'step') Object.assign(schedule, { every: num('every'), gamma: num('gamma') });
  if (type === 'exponential') schedule.gamma = num('gamma');
  if (type === 'cosine') schedule.minLearningRate = num('min-learning-rate');
  if (type === 'oneCycle') Object.assign(schedule, { maxLearningRate: num('max-learning-rate'), warmupFraction: num('warmup-fraction') });
  const request = {
    x: state.x,
    y: state.y,
    ...(state.model === 'relu' ? { model: { type: 'relu', units: state.units } } : { degree: degree() }),
    loss: lossKind(),
    learningRate: num('learning-rate'),
    steps: Math.trunc(num('steps')),
    initialParams: [...state.params],
    optimizer,
    schedule,
    label: 'playground',
  };
  if (lossKind() === 'huber') request.huberDelta = huberDelta();
  return request;
}

function setStatus(text, isError = false) {
  const status = $('fit-status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

/**
 * "Fit with k ReLUs": a sum of k ReLUs from PyTorch's initialization drawn from seed 0 (no initialParams: the service
 * draws them), by Adam, which the ReLUs' scattered scales need more than plain SGD does.
 */
function fitRelus() {
  const k = Math.max(1, Math.min(32, Math.trunc(Number($('fit-relus-units').value)) || 8));
  state.model = 'relu';
  state.units = k;
  state.params = new Array(3 * k + 1).fill(0);
  showModelFields();
  buildSliders();
  const request = fitRequest();
  delete request.initialParams;
  Object.assign(request, { seed: 0, optimizer: { type: 'adam', beta1: 0.9, beta2: 0.999 }, learningRate: 0.05, steps: Math.max(request.steps, 3000) });
  return startFit(null, request);
}

async function startFit(event, given = null) {
  event?.preventDefault();
  if (state.fit) return;
  if (state.x.length === 0) { setStatus('Add some points first.', true); return; }
  const request = given ?? fitRequest();
  const controller = new AbortController();
  state.fit = { id: null, controller, request };
  state.initial = request.initialParams ? [...request.initialParams] : null;
  $('fit-button').disabled = true;
  $('final-loss').textContent = '–';
  $('fit-links').replaceChildren();
  drawLossChart([], request.steps, null);
  setStatus('Submitting…');
  try {
    const response = await api('/v1/fits', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request), signal: controller.signal });
    const fit = await response.json();
    state.fit.id = fit.id;
    $('cancel-button').disabled = false;
    setStatus(`Fit ${fit.id} ${fit.status}…`);
    const ended = await follow(fit, controller.signal);
    await finish(ended);
  } catch (error) {
    if (error.name !== 'AbortError') setStatus(error.message, true);
  } finally {
    state.fit = null;
    $('fit-button').disabled = false;
    $('cancel-button').disabled = true;
    loadRecent();
  }
}

/** Follows a fit to its end: its event stream when the service has one, else by polling with Prefer: wait. */
async function follow(fit, signal) {
  const seen = [];
  const onProgress = (p) => {
    state.params = [...p.params];
    syncSliders();
    update();
    seen.push({ step: p.step - 1, loss: p.loss }); // the loss recorded before the last update
    drawLossChart(seen, fit.steps, null);
    setStatus(`Step ${p.step} of ${fit.steps}, loss ${format4(p.loss)}`);
  };
  try {
    const ended = await stream(fit.id, onProgress, signal);
    if (ended) return ended;
  } catch (error) {
    if (error.name === 'AbortError') throw error;
  }
  return poll(fit.id, signal);
}

/** Reads GET /v1/fits/{id}/events (progress events, then end) with fetch, so the API key can go along. Null when there is no stream. */
async function stream(id, onProgress, signal) {
  const response = await fetch(`/v1/fits/${id}/events`, { headers: headers({ Accept: 'text/event-stream' }), signal });
  if (!response.ok || !(response.headers.get('Content-Type') || '').startsWith('text/event-stream')) return null;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    buffer += value.replace(/\r\n?/g, '\n');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') name = text;
        if (field === 'data') data.push(text);
      }
      if (data.length === 0) continue;
      const payload = JSON.parse(data.join('\n'));
      if (name === 'progress') onProgress(payload);
      if (name === 'end') { reader.cancel().catch(() => {}); return payload; }
    }
  }
}

async function poll(id, signal) {
  for (;;) {
    const fit = await (await api(`/v1/fits/${id}`, { headers: { Prefer: 'wait=1' }, signal })).json();
    if (['succeeded', 'failed', 'cancelled'].includes(fit.status)) return fit;
    if (fit.params) {
      state.params = [...fit.params];
      syncSliders();
      update();
      drawLossChart(entries(fit.history, fit.historyEvery), fit.steps, null);
      setStatus(`Step ${fit.step} of ${fit.steps}, loss ${format4(fit.loss)}`);
    }
  }
}

/** Shows the ended fit: the descent replayed on the loss chart, the curve at the fitted params, the final loss. */
async function finish(fit) {
  const history = entries(fit.history || (await (await api(`/v1/fits/${fit.id}`)).json()).history, fit.historyEvery);
  const frames = Math.min(40, history.length);
  for (let f = 1; f <= frames; f++) {
    drawLossChart(history.slice(0, Math.ceil((history.length * f) / frames)), fit.steps, null);
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  if (fit.params) {
    state.params = [...fit.params];
    syncSliders();
    update();
  }
  drawLossChart(history, fit.steps, fit.loss, fit.step);
  $('final-loss').textContent = format4(fit.loss);
  $('final-loss').dataset.fitId = fit.id;
  const reason = fit.stopReason === 'steps' ? `after ${fit.step} steps` : `(${fit.stopReason} at step ${fit.step})`;
  // A long history comes inline only in part (Limits:MaxInlineHistory); the loss plot link draws all of it.
  const partial = fit.historyTruncated ? ` (chart: first ${history.length} of ${fit.historyTotal} history entries; "loss history" shows all)` : '';
  setStatus(`Fit ${fit.id} ${fit.status} ${reason}: loss ${format4(fit.loss)}${partial}${fit.error ? ' — ' + fit.error : ''}`, fit.status === 'failed');
  $('fit-links').replaceChildren(...fitLinks(fit.id));
}

function fitLinks(id) {
  return [['plot', `/v1/fits/${id}/plot.svg`], ['loss history', `/v1/fits/${id}/loss.svg`], ['log scale', `/v1/fits/${id}/loss.svg?scale=log`], ['JSON', `/v1/fits/${id}`]]
    .map(([text, href]) => {
      const a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      a.target = '_blank';
      a.rel = 'noopener';
      // A link cannot carry the API key: with one, fetch the picture and open it from memory.
      a.addEventListener('click', async (event) => {
        if (!apiKey()) return;
        event.preventDefault();
        const blob = await (await api(href)).blob();
        window.open(URL.createObjectURL(blob), '_blank', 'noopener');
      });
      return a;
    });
}

async function cancelFit() {
  const fit = state.fit;
  if (!fit || !fit.id) return;
  try {
    await api(`/v1/fits/${fit.id}/cancel`, { method: 'POST' });
    setStatus('Cancelling…');
  } catch (error) {
    setStatus(error.message, true);
  }
}

/** A fit's model in a few words: "degree 2", "8 ReLUs", "mlp 16-16 tanh", "linear", or the formula. */
function describeModel(request) {
  const m = request.model;
  if (!m) return `degree ${request.degree}`;
  if (m.type === 'relu') return `${m.units} ReLU${m.units === 1 ? '' : 's'}`;
  if (m.type === 'mlp') return `mlp ${(m.layers || []).join('-')} ${m.activation || 'relu'}`;
  if (m.type === 'linear') return 'linear';
  return m.formula || 'formula';
}

async function loadRecent() {
  const list = $('recent');
  try {
    const page = await (await api('/v1/fits?limit=10')).json();
    list.replaceChildren(...page.items.map((fit) => {
      const li = document.createElement('li');
      const title = document.createElement('div');
      title.textContent = `${fit.label || fit.id} — ${fit.status}${fit.loss !== null && fit.loss !== undefined ? ', loss ' + format4(fit.loss) : ''}`;
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = `${describeModel(fit.request)}, ${fit.request.loss}, ${fit.request.points} points, ${new Date(fit.createdAt).toLocaleString()}`;
      const links = document.createElement('div');
      links.append(...fitLinks(fit.id));
      li.append(title, meta, links);
      return li;
    }));
    if (page.items.length === 0) list.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'No fits yet.' }));
  } catch (error) {
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: error.message }));
  }
}

// ---- wiring ----

function showFieldsFor(select) {
  for (const node of document.querySelectorAll('[data-for]')) {
    const owners = node.dataset.for.split(' ');
    const group = select.id === 'optimizer' ? ['sgd', 'adam'] : ['step', 'exponential', 'cosine', 'oneCycle'];
    if (owners.some((o) => group.includes(o))) node.hidden = !owners.includes(select.value);
  }
}

function init() {
  for (let d = 0; d <= MAX_DEGREE; d++) $('degree').append(new Option(String(d), String(d), d === 2, d === 2));
  $('degree').addEventListener('change', () => setDegree(degree()));
  $('model').addEventListener('change', () => ($('model').value === 'relu' ? setReluModel(Number($('units').value)) : setPolynomialModel(degree())));
  $('units').addEventListener('change', () => setReluModel(Number($('units').value)));
  $('fit-relus-units').addEventListener('input', () => { $('fit-relus-count').textContent = $('fit-relus-units').value; });
  $('fit-relus-button').addEventListener('click', fitRelus);
  $('loss').addEventListener('change', () => { $('huber-field').hidden = lossKind() !== 'huber'; update(); });
  $('huber-delta').addEventListener('input', update);
  $('lesson-points').addEventListener('click', () => {
    state.x = [...LESSON.x];
    state.y = [...LESSON.y];
    pointsChanged(true);
  });
  $('clear-points').addEventListener('click', () => {
    state.x = [];
    state.y = [];
    $('draw-mode').checked = true;
    $('chart').classList.add('drawing');
    state.view = fitView();
    pointsChanged(false);
  });
  $('draw-mode').addEventListener('change', () => { $('chart').classList.toggle('drawing', $('draw-mode').checked); pointsChanged(false); });
  $('use-csv').addEventListener('click', () => {
    try {
      const points = parseCsv($('csv').value);
      state.x = points.x;
      state.y = points.y;
      $('csv-error').textContent = '';
      pointsChanged(true);
    } catch (error) {
      $('csv-error').textContent = error.message;
    }
  });
  $('optimizer').addEventListener('change', (e) => showFieldsFor(e.target));
  $('schedule').addEventListener('change', (e) => showFieldsFor(e.target));
  $('fit-form').addEventListener('submit', startFit);
  $('cancel-button').addEventListener('click', cancelFit);
  $('refresh-recent').addEventListener('click', loadRecent);
  $('api-key').value = apiKey();
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('api-key').value.trim();
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
    loadRecent();
  });

  state.view = fitView();
  buildSliders();
  pointsChanged(true);
  drawLossChart([], 100, null);
  loadRecent();
  document.body.dataset.ready = 'true';
}

init();
