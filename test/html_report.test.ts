// The HTML report, looked at as a person would: real bench runs against the embedded server
// write their pages (bench --html, report --html, compare --html), headless Chromium opens
// them with the network cut off, and the test checks what was painted — charts with real
// geometry whose numbers match the document, pixels on the screenshot, dark mode, print —
// and that nothing went wrong on the way (console errors, requests, dialogs). A hostile
// document (the one hand-written input) must come out as text.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Comparison } from '../src/report/compare';
import type { ResultDocument } from '../src/report/result';
import { ensureChromium, launchChromium, openFile } from './helpers/chromium';
import { dump, runCli, runCliJson } from './helpers/cli';
import { Rgb, countNear, decodePng, dominantColor, luminance } from './helpers/png';

const MAX_PAGE_BYTES = 300 * 1024;

interface ChartInfo {
  name: string;
  width: number;
  height: number;
  shapes: number;
  drawn: number;
  pathLength: number;
}

/** Geometry of every chart as laid out by the browser. (A string: the test's TS has no DOM types.) */
async function charts(page: Page): Promise<ChartInfo[]> {
  return page.evaluate(`[...document.querySelectorAll('svg.chart')].map((svg) => {
    const r = svg.getBoundingClientRect();
    const shapes = [...svg.querySelectorAll('g.plot path, g.plot rect, g.plot circle')];
    const drawn = shapes.filter((el) => { const b = el.getBBox(); return b.width > 0.5 || b.height > 0.5; }).length;
    const pathLength = [...svg.querySelectorAll('g.plot path')].reduce((s, p) => s + p.getTotalLength(), 0);
    return { name: svg.dataset.chart, width: r.width, height: r.height, shapes: shapes.length, drawn, pathLength };
  })`);
}

function rgbOf(css: string): Rgb {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  assert.ok(m, `not a colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

async function computed(page: Page, selector: string, property: string): Promise<string> {
  return page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`);
}

/** Share of a screenshot's pixels that are not its background. */
function inkShare(png: Buffer): number {
  const img = decodePng(png);
  const bg = dominantColor(img);
  return 1 - countNear(img, bg, 24) / (img.width * img.height);
}

/** A chart element's screenshot shows its series colour (the stroke/fill of `seriesSelector`), in at least `min` pixels. */
async function assertPainted(page: Page, chart: string, seriesSelector: string, property: 'stroke' | 'fill', min: number): Promise<void> {
  const loc = page.locator(`svg.chart[data-chart="${chart}"]`);
  const png = await loc.screenshot();
  const color = rgbOf(await computed(page, `svg.chart[data-chart="${chart}"] ${seriesSelector}`, property));
  const img = decodePng(png);
  const n = countNear(img, color, 40);
  assert.ok(n >= min, `${chart}: ${n} pixels of the series colour rgb(${color}) (want >= ${min})`);
  assert.ok(inkShare(png) > 0.01, `${chart}: the chart is blank`);
}

async function assertHealthy(opened: { problems: string[]; requests: string[] }): Promise<void> {
  assert.deepEqual(opened.problems, [], 'console errors, page errors or dialogs');
  assert.deepEqual(opened.requests, [], 'the page tried to fetch something');
}

describe('HTML report in headless Chromium', function () {
  this.timeout(120_000);
  let dir: string;
  let browser: Browser;
  const docs: Record<string, ResultDocument> = {};
  const page = (name: string) => path.join(dir, `${name}.html`);

  before(async function () {
    this.timeout(20 * 60_000); // may install chromium
    ensureChromium();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-html-'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // Real runs against the embedded server; each page written by bench --html (ping-pong's by report --html, later).
  // No warmup: the pages draw the measured window, and a second of warmup is two CPU-seconds of a test run.
  const RUNS: Record<string, { args: string[]; html: boolean }> = {
    hs: { args: ['bench', '-d', '2', '--warmup', '0', '-c', '8'], html: true },
    tp: { args: ['bench', 'throughput', '-d', '2', '--warmup', '0', '-c', '4'], html: true },
    pp: { args: ['bench', 'throughput', '--pingpong', '64', '-c', '4', '-d', '2', '--warmup', '0'], html: false },
    ol: { args: ['bench', '--rate', '300', '-c', '8', '-d', '2', '--warmup', '0'], html: true },
    // A real regression for compare: one connection instead of sixteen, five rounds each, so the
    // statistics have samples to call it significant.
    many: { args: ['bench', '-c', '16', '-d', '500ms', '--warmup', '0', '--rounds', '5', '--round-pause', '0'], html: false },
    one: { args: ['bench', '-c', '1', '-d', '500ms', '--warmup', '0', '--rounds', '5', '--round-pause', '0'], html: false },
  };

  /** The run's document (running it the first time a test asks, so any test can run alone with -g). */
  async function bench(name: keyof typeof RUNS & string): Promise<ResultDocument> {
    if (docs[name]) return docs[name];
    const { args, html } = RUNS[name];
    const r = await runCliJson([...args, ...(html ? ['--html', page(name)] : [])], { killAfterMs: 90_000 });
    assert.equal(r.code, 0, dump(r));
    fs.writeFileSync(path.join(dir, `${name}.json`), r.out);
    docs[name] = r.doc as ResultDocument;
    return docs[name];
  }

  it('bench --html: a handshake run as a page whose charts drew and whose numbers are the document’s', async () => {
    const doc = await bench('hs');
    const size = fs.statSync(page('hs')).size;
    assert.ok(size < MAX_PAGE_BYTES, `${size} bytes`);
    const o = await openFile(browser, page('hs'));
    try {
      const text: string = await o.page.evaluate('document.body.innerText');
      for (const fact of [`${doc.target.host}:${doc.target.port}`, doc.backend, doc.openssl.version.replace(/^OpenSSL /, ''), doc.machine.node, doc.negotiated.protocol!, doc.negotiated.cipher!]) {
        assert.ok(text.includes(fact), `page shows ${fact}`);
      }
      const info = await charts(o.page);
      const byName = new Map(info.map((c) => [c.name, c]));
      for (const name of ['spectrum', 'distribution', 'timeline']) {
        const c = byName.get(name);
        assert.ok(c, `${name} chart present (have ${info.map((i) => i.name)})`);
        assert.ok(c.width > 300 && c.height > 100, `${name} laid out ${c.width}x${c.height}`);
        assert.ok(c.drawn > 0 && c.drawn === c.shapes, `${name}: ${c.drawn}/${c.shapes} shapes with geometry`);
      }
      assert.ok(byName.get('spectrum')!.pathLength > 500, 'spectrum lines have length');

      // The spectrum's marks are the document's percentiles (computed at bench time from the live histogram).
      const marks: Array<{ p: string; v: string; cy: string }> = await o.page.evaluate(
        `[...document.querySelectorAll('svg[data-chart="spectrum"] g.series:first-of-type circle[data-percentile]')].map((c) => ({ p: c.dataset.percentile, v: c.dataset.valueUs, cy: c.getAttribute('cy') }))`
      );
      const lat = doc.latency.handshake!;
      const want: Record<string, number> = { '50': lat.p50, '90': lat.p90, '99': lat.p99, '99.9': lat.p99_9 };
      for (const [p, v] of Object.entries(want)) assert.equal(Number(marks.find((m) => m.p === p)?.v), v, `p${p} mark`);
      const cy = (p: string) => Number(marks.find((m) => m.p === p)!.cy);
      assert.ok(cy('99.9') <= cy('99') && cy('99') <= cy('50'), 'higher percentiles are drawn higher');

      // One bar per interval, heights in proportion to the document's per-second rates.
      const heights: number[] = await o.page.evaluate(`[...document.querySelectorAll('svg[data-chart="timeline"] rect.bar')].map((r) => r.getBBox().height)`);
      const rates = doc.rates.handshakesPerSec!.intervals;
      assert.equal(heights.length, rates.length);
      const k = heights[0] / rates[0];
      rates.forEach((r, i) => assert.ok(Math.abs(heights[i] - r * k) <= 0.5 + 0.01 * heights[i], `bar ${i}: ${heights[i]} vs rate ${r}`));

      await assertPainted(o.page, 'spectrum', 'path.line.c1', 'stroke', 200);
      await assertPainted(o.page, 'distribution', 'rect.bar.c1', 'fill', 500);
      await assertPainted(o.page, 'timeline', 'rect.bar.c1', 'fill', 2000);
      const shot = await o.page.screenshot({ fullPage: true });
      const share = inkShare(shot);
      console.log(`      page ${size} bytes, ${info.length} charts, ${(share * 100).toFixed(1)}% of the full-page screenshot painted`);
      assert.ok(share > 0.03, `screenshot mostly blank (${share})`);
      await assertHealthy(o);
    } finally {
      await o.close();
    }
  });

  it('reads in dark mode and prints light', async () => {
    await bench('hs');
    const light = await openFile(browser, page('hs'), { colorScheme: 'light' });
    const dark = await openFile(browser, page('hs'), { colorScheme: 'dark' });
    try {
      const bgLight = rgbOf(await computed(light.page, 'body', 'backgroundColor'));
      const bgDark = rgbOf(await computed(dark.page, 'body', 'backgroundColor'));
      const fgDark = rgbOf(await computed(dark.page, 'body', 'color'));
      assert.ok(luminance(bgLight) > 0.9 && luminance(bgDark) < 0.15 && luminance(fgDark) > 0.7, `light bg ${bgLight}, dark bg ${bgDark} / fg ${fgDark}`);
      // The screenshot's background is the dark one, and the charts still drew on it.
      const shot = decodePng(await dark.page.screenshot({ fullPage: true }));
      assert.ok(luminance(dominantColor(shot)) < 0.15, `dark screenshot background ${dominantColor(shot)}`);
      await assertPainted(dark.page, 'spectrum', 'path.line.c1', 'stroke', 200);
      await assertPainted(dark.page, 'timeline', 'rect.bar.c1', 'fill', 2000);

      await dark.page.emulateMedia({ media: 'print', colorScheme: 'dark' });
      const bgPrint = rgbOf(await computed(dark.page, 'body', 'backgroundColor'));
      assert.ok(luminance(bgPrint) > 0.95, `printed background ${bgPrint}`);
      const pdf = await dark.page.pdf({ format: 'A4' });
      assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
      const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
      assert.ok(pages >= 2 && pages < 12, `${pages} printed pages`);
      await assertHealthy(light);
      await assertHealthy(dark);
    } finally {
      await light.close();
      await dark.close();
    }
  });

  it('bench throughput --html: rate over time and the per-connection spread', async () => {
    const doc = await bench('tp');
    assert.ok(fs.statSync(page('tp')).size < MAX_PAGE_BYTES);
    const o = await openFile(browser, page('tp'));
    try {
      const widths: Record<string, number> = await o.page.evaluate(
        `Object.fromEntries([...document.querySelectorAll('svg[data-chart="spread"] g[data-stat]')].map((g) => [g.dataset.stat, g.querySelector('rect').getBBox().width]))`
      );
      const g = doc.perConnection!.gbps;
      assert.ok(widths.min <= widths.median && widths.median <= widths.max, JSON.stringify(widths));
      assert.ok(Math.abs(widths.min / widths.max - g.min / g.max) < 0.02, `spread bars ${JSON.stringify(widths)} vs ${JSON.stringify(g)}`);
      const bars: number = await o.page.evaluate(`document.querySelectorAll('svg[data-chart="timeline"] rect.bar').length`);
      assert.equal(bars, doc.rates.bitsPerSec!.intervals.length);
      await assertPainted(o.page, 'timeline', 'rect.bar.c1', 'fill', 2000);
      await assertPainted(o.page, 'spread', 'rect.bar.c1', 'fill', 500);
      await assertHealthy(o);
    } finally {
      await o.close();
    }
  });

  it('report RESULT.json: the text report from the document, and --html from it (ping-pong)', async () => {
    const doc = await bench('pp');
    const json = path.join(dir, 'pp.json');
    const text = await runCli(['report', json]);
    assert.equal(text.code, 0, dump(text));
    assert.match(text.out, /ping-pong benchmark/);
    assert.match(text.out, /Round trip/);
    assert.ok(text.out.includes(`Round-trip latency (${doc.latency.rtt!.count.toLocaleString('en-US')} samples)`), text.out);

    const back = await runCliJson(['report', json]);
    assert.deepEqual(back.doc, doc, 'report --json prints the document as read');

    const r = await runCli(['report', json, '--html', page('pp')]);
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.out, '', 'report --html writes the file and prints nothing');
    const o = await openFile(browser, page('pp'));
    try {
      const v: string = await o.page.evaluate(`document.querySelector('svg[data-chart="spectrum"] circle[data-percentile="99"]').dataset.valueUs`);
      assert.equal(Number(v), doc.latency.rtt!.p99);
      await assertPainted(o.page, 'spectrum', 'path.line.c1', 'stroke', 200);
      await assertPainted(o.page, 'distribution', 'rect.bar.c1', 'fill', 300);
      await assertHealthy(o);
    } finally {
      await o.close();
    }
  });

  it('open loop (--rate): the requested rate is drawn, and the uncorrected spectrum when the document has it', async () => {
    const doc = await bench('ol');
    const o = await openFile(browser, page('ol'));
    try {
      assert.equal(await o.page.evaluate(`document.querySelectorAll('svg[data-chart="timeline"] path.line.target').length`), 1);
      const series: number = await o.page.evaluate(`document.querySelectorAll('svg[data-chart="spectrum"] g.series').length`);
      const expected = 1 + (doc.latency.connect ? 1 : 0) + ('handshakeUncorrected' in doc.latency ? 1 : 0);
      assert.equal(series, expected);
      await assertHealthy(o);
    } finally {
      await o.close();
    }
  });

  it('compare --html: both spectra on one chart, rates side by side on one scale, regressions highlighted', async () => {
    await Promise.all([bench('many'), bench('one')]);
    const a = path.join(dir, 'many.json');
    const b = path.join(dir, 'one.json');
    // Sixteen connections -> one: the handshake rate drops, significantly; the other way it improves.
    let regressions = 0;
    for (const [base, next, name] of [[a, b, 'cmp-ab'], [b, a, 'cmp-ba']] as const) {
      const r = await runCliJson<Comparison>(['compare', base, next, '--threshold', '0', '--html', page(name)]);
      assert.equal(r.code, r.doc.regressions.length > 0 ? 1 : r.doc.verdict === 'no regression' ? 0 : 3, dump(r));
      assert.equal(r.code, r.doc.exitCode);
      regressions += r.doc.regressions.length;
      assert.ok(fs.statSync(page(name)).size < MAX_PAGE_BYTES);
      const o = await openFile(browser, page(name));
      try {
        assert.equal(await o.page.evaluate(`document.querySelectorAll('svg[data-chart="spectrum"] g.series').length`), 2);
        const info = await charts(o.page);
        for (const n of ['spectrum', 'distribution', 'timeline-base', 'timeline-new']) {
          const c = info.find((i) => i.name === n);
          assert.ok(c && c.drawn > 0 && c.drawn === c.shapes, `${n}: ${JSON.stringify(c)}`);
        }
        const yTicks = (n: string) => o.page.evaluate(`[...document.querySelectorAll('svg[data-chart="${n}"] text.tick')].map((t) => t.textContent).join(',')`);
        assert.equal(await yTicks('timeline-base'), await yTicks('timeline-new'), 'one scale for both');
        await assertPainted(o.page, 'spectrum', 'path.line.c1', 'stroke', 150);
        await assertPainted(o.page, 'spectrum', 'path.line.c2', 'stroke', 150);
        const rows: string[] = await o.page.evaluate(`[...document.querySelectorAll('table[data-table="changes"] tr.regressed')].map((t) => t.dataset.metric)`);
        assert.deepEqual(rows.sort(), r.doc.regressions.map((x) => x.id).sort());
        if (rows.length > 0) {
          const bad = rgbOf(await computed(o.page, 'tr.regressed td', 'backgroundColor'));
          const ok = rgbOf(await computed(o.page, 'body', 'backgroundColor'));
          assert.notDeepEqual(bad, ok, 'regressed rows are shaded');
          assert.match(await o.page.evaluate(`document.querySelector('[data-banner="verdict"]').innerText`), new RegExp(`${rows.length} regressions?`));
        }
        await assertHealthy(o);
      } finally {
        await o.close();
      }
    }
    assert.ok(regressions > 0, 'one direction regresses');
  });

  it('escapes everything a hostile document carries, and draws the optional sections (intervals, client, accounting, shards)', async () => {
    const XSS = '<script>alert(1)</script>';
    const IMG = '"><img src=x onerror=alert(2)>';
    const real = await bench('hs');
    const evil: any = structuredClone(real);
    evil.target.host = `evil${XSS}.example`;
    evil.machine.cpuModel = `CPU ${IMG}`;
    evil.openssl.version = 'OpenSSL </style><script>alert(3)</script>';
    evil.negotiated.cipher = "x' onmouseover='alert(4)";
    evil.tool.version = '<svg onload=alert(5)>';
    evil.params.servername = '<iframe src="http://192.0.2.1/"></iframe>';
    evil.errors = { [`refused ${XSS}`]: 3, [`alert: ${IMG}`]: 1 };
    evil.totals.errors = 4;
    evil.interrupted = { signal: `SIGINT${XSS}` };
    evil.errorRate = { ratio: 0.05, max: 0.01 };
    evil.client = { workers: 1, busyPct: 97.5, cpuUs: { user: 1_900_000, system: 210_000 }, cpuUsPerOp: 450, opUnit: 'handshake', queueDelayMeanUs: 80, lagP99Us: 12_000, saturated: true, lateStarts: true, warning: `client saturated ${IMG}` };
    evil.accounting = { unit: 'handshake', started: 100, succeeded: 90, failed: 4, cutOff: 6, inFlightAtEnd: 6, backlogAtEnd: 0 };
    evil.warmup = { duration: 1, totals: { ...real.totals, handshakes: 50, errors: 1 } };
    evil.latency.handshakeUncorrected = { ...real.latency.handshake };
    // A garbled histogram is an input error (exit 2, the field named; test/result_validation.test.ts), checked below.
    delete evil.latency.connect;
    // Ten minutes of intervals (a long run's page must stay small), each carrying the run's histogram; two with errors.
    const t0 = Date.parse(real.start);
    evil.intervals = Array.from({ length: 600 }, (_, i) => ({
      index: i,
      startMs: t0 + i * 1000,
      durationMs: 1000,
      counters: { handshakes: 1000 + (i % 7) * 50, resumed: 0, full: 1000, connects: 1000, bytesIn: 0, bytesOut: 0, roundTrips: 0, started: 1000, errors: i === 3 ? { [`timeout ${XSS}`]: 2 } : i === 9 ? { refused: 5 } : {} },
      histograms: { handshake: real.latency.handshake!.encoded },
    }));
    const row = (shard: number, host: string, handshakes: number) => ({
      shard,
      of: 2,
      host,
      file: `${host}.json`,
      backend: real.backend,
      opensslVersion: real.openssl.version,
      params: {},
      start: real.start,
      finish: real.finish,
      duration: real.duration,
      startSkewMs: 0,
      totals: { ...real.totals, handshakes },
      errors: real.errors,
      rates: real.rates,
      latency: {},
    });
    evil.shards = [row(0, XSS, 10), row(1, IMG, 12)];
    const file = path.join(dir, 'evil.json');
    fs.writeFileSync(file, JSON.stringify(evil));
    const garbled = path.join(dir, 'garbled.json');
    fs.writeFileSync(garbled, JSON.stringify({ ...evil, latency: { ...evil.latency, connect: { ...real.latency.handshake, encoded: 'HISTFgarbage<script>' } } }));
    const refused = await runCli(['report', garbled, '--html', page('garbled')]);
    assert.equal(refused.code, 2, dump(refused));
    assert.match(refused.stderr, /^iocptls: .*garbled\.json: latency\.connect\.encoded: encoded histogram is not base64\n$/);
    const r = await runCli(['report', file, '--html', page('evil')]);
    assert.equal(r.code, 0, dump(r));
    const html = fs.readFileSync(page('evil'), 'utf8');
    assert.ok(html.length < MAX_PAGE_BYTES, `${html.length} bytes for 600 intervals`);
    for (const tag of ['<script', '<img', '<iframe', '<svg onload', "' onmouseover"]) assert.ok(!html.toLowerCase().includes(tag), `raw ${tag} in the page`);

    const o = await openFile(browser, page('evil'));
    try {
      if (process.env.IOCPTLS_KEEP_SHOTS) {
        fs.writeFileSync(path.join(process.env.IOCPTLS_KEEP_SHOTS, 'evil.png'), await o.page.screenshot({ fullPage: true }));
        fs.writeFileSync(path.join(process.env.IOCPTLS_KEEP_SHOTS, 'evil-rates.png'), await o.page.locator('#rates').screenshot());
      }
      const found: number = await o.page.evaluate(`document.querySelectorAll('script, img, iframe, object, embed, [onerror], [onload], [onmouseover]').length`);
      assert.equal(found, 0, 'no active element came from the document');
      const text: string = await o.page.evaluate('document.body.innerText');
      for (const s of [XSS, IMG, evil.openssl.version.replace(/^OpenSSL /, ''), evil.negotiated.cipher, evil.tool.version, `refused ${XSS}`]) {
        assert.ok(text.includes(s), `shown as text: ${s}`);
      }
      assert.ok((await o.page.title()).includes(`evil${XSS}.example`));
      for (const banner of ['interrupted', 'error-rate', 'client']) {
        assert.equal(await o.page.evaluate(`document.querySelectorAll('[data-banner="${banner}"]').length`), 1, `${banner} banner`);
      }
      assert.match(text, /✓ started = succeeded \+ failed \+ cut off/);
      assert.equal(await o.page.evaluate(`document.querySelectorAll('table[data-table="shards"] tbody tr').length`), 2);
      // Errors marked on the two intervals that had them; the latency timeline drew from the intervals' histograms.
      assert.deepEqual(await o.page.evaluate(`[...document.querySelectorAll('svg[data-chart="timeline"] g.errors')].map((g) => g.dataset.errors)`), ['2', '5']);
      assert.match(await o.page.evaluate(`document.querySelector('svg[data-chart="timeline"] g.errors title').textContent`), /3–4 s: 2 errors \(timeout <script>alert\(1\)<\/script> 2\)/);
      const info = await charts(o.page);
      for (const n of ['spectrum', 'distribution', 'timeline', 'latency-timeline']) {
        const c = info.find((i) => i.name === n);
        assert.ok(c && c.drawn > 0, `${n}: ${JSON.stringify(c)}`);
      }
      // Corrected + uncorrected.
      assert.equal(await o.page.evaluate(`document.querySelectorAll('svg[data-chart="spectrum"] g.series').length`), 2);
      // 600 intervals: one area, not 600 slivers.
      await assertPainted(o.page, 'timeline', 'path.area.c1', 'fill', 20000);
      await assertHealthy(o);
    } finally {
      await o.close();
    }
  });

  it('bad files and outputs: one line, exit 2, before any load', async () => {
    await bench('hs');
    const missing = await runCli(['report', path.join(dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^iocptls: cannot read .*nope\.json: no such file\n$/);
    const garbage = path.join(dir, 'garbage.json');
    fs.writeFileSync(garbage, '{"not": "a result"}');
    const bad = await runCli(['report', garbage, '--html', page('garbage')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^iocptls: .*garbage\.json is not an iocptls result document/);
    assert.ok(!fs.existsSync(page('garbage')));

    const nowhere = path.join(dir, 'no', 'such', 'dir', 'x.html');
    const b = await runCli(['bench', '-d', '1', '--html', nowhere]);
    assert.equal(b.code, 2, dump(b));
    assert.equal(b.stderr.trim(), `iocptls: --html ${nowhere}: cannot create it: no such directory ${path.dirname(nowhere)}`);
    assert.doesNotMatch(b.out, /Handshake/, 'no run happened');
    const c = await runCli(['compare', path.join(dir, 'hs.json'), path.join(dir, 'hs.json'), '--html', dir]);
    assert.equal(c.code, 2, dump(c));
    assert.match(c.stderr, /^iocptls: --html .*: is a directory, not a file\n$/);
  });
});
