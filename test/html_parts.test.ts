// The HTML report's pure parts, checked without a browser: escaping, the percentile spectrum's
// points against exact percentiles of the raw samples, bands that keep every sample, axes.
import assert from 'node:assert/strict';
import { latencyBands, recordedRange } from '../src/report/plot';
import { escapeHtml, h, raw } from '../src/report/html/escape';
import { spectrumPoints, spectrumXMax } from '../src/report/html/spectrum';
import { linearAxis, logAxis } from '../src/report/html/svg';
import { exactPercentile, histogramOf, latencies } from './support/resultRuns';

describe('HTML report parts', () => {
  it('h escapes what is interpolated, never the literal markup or Html built by h', () => {
    const evil = `<script>alert("x")</script> & 'q'`;
    assert.equal(escapeHtml(evil), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;');
    const inner = h`<b>${evil}</b>`;
    assert.equal(h`<p title="${evil}">${inner}${[1, null, undefined, false, 'a<']}</p>`.text, `<p title="${escapeHtml(evil)}"><b>${escapeHtml(evil)}</b>1a&lt;</p>`);
    assert.equal(h`${raw('<i>')}`.text, '<i>');
  });

  it('the spectrum at x = 1/(1-p) is the p-th percentile of the samples (within the histogram’s 0.1%)', () => {
    const values = latencies(7, 50_000, 3_000, 0.7);
    const sorted = [...values].sort((a, b) => a - b);
    const hist = histogramOf(values);
    const xMax = spectrumXMax([hist.totalCount]);
    assert.equal(xMax, 100_000);
    const points = spectrumPoints(hist, xMax);
    for (const [x, p] of [[1, 0], [10, 90], [100, 99], [1000, 99.9], [10_000, 99.99]] as const) {
      const pt = points.find((q) => Math.abs(q.x - x) / x < 1e-9);
      assert.ok(pt, `a point at x=${x}`);
      assert.ok(Math.abs(pt.p - p) < 1e-9, `x=${x} is p${pt.p}`);
      const exact = exactPercentile(sorted, p);
      assert.ok(Math.abs(pt.value - exact) <= exact * 0.001 + 1, `p${p}: ${pt.value} vs exact ${exact}`);
    }
    for (let i = 1; i < points.length; i++) assert.ok(points[i].value >= points[i - 1].value, 'non-decreasing');
  });

  it('distribution bands keep every sample, and share edges over a common range', () => {
    const a = histogramOf(latencies(1, 10_000, 500, 0.5));
    const b = histogramOf(latencies(2, 10_000, 5_000, 0.5));
    const range = { lo: Math.min(recordedRange(a)!.lo, recordedRange(b)!.lo), hi: Math.max(recordedRange(a)!.hi, recordedRange(b)!.hi) };
    const ba = latencyBands(a, 60, range, 4);
    const bb = latencyBands(b, 60, range, 4);
    assert.equal(ba.reduce((s, x) => s + x.count, 0), a.totalCount);
    assert.equal(bb.reduce((s, x) => s + x.count, 0), b.totalCount);
    assert.deepEqual(ba.map((x) => x.lo), bb.map((x) => x.lo));
    for (let i = 1; i < ba.length; i++) assert.ok(Math.abs(ba[i].lo - ba[i - 1].hi) < 1e-6, 'contiguous');
  });

  it('axes: round bounds that contain the data, ticks inside them', () => {
    const lin = linearAxis(1313, '', String);
    assert.equal(lin.min, 0);
    assert.ok(lin.max >= 1313 && lin.max <= 2000, `max ${lin.max}`);
    assert.deepEqual(lin.ticks.map((t) => t.value), [0, 500, 1000, 1500]);
    const log = logAxis(2.3, 230, '', String);
    assert.ok(log.min <= 2.3 && log.max >= 230, `${log.min}..${log.max}`);
    assert.deepEqual(log.ticks.map((t) => t.value), [2, 5, 10, 20, 50, 100, 200, 500]);
  });
});
