// A document that is not what docs/result-schema.md says is an input error: compare, merge and
// report all read through one validating reader, so each malformed field is one line naming it
// (with its path) and exit 2 — never a TypeError with exit 1, which for compare would read as
// "regressed". Encoded histograms are decoded within bounds: a hostile header fails in
// milliseconds, not the 38 s hdr-histogram-js takes to believe a 2 GiB payload.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  countsArrayLength,
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  HistogramDecodeError,
  INFLATE_SLACK,
  inspectEncodedHistogram,
  MAX_COUNTS,
} from '../src/engine/stats/histograms';
import { ResultFileError, validateResult } from '../src/report/result';
import { dump, runCli } from './helpers/cli';
import { histogramOf, latencies, simulateRounds, simulateRun } from './support/resultRuns';

/** Wraps an inflated V2 encoding (header + payload) as HdrHistogram's compressed base64. */
function wrap(inflated: Buffer): string {
  const compressed = zlib.deflateSync(inflated);
  const outer = Buffer.alloc(8);
  outer.writeUInt32BE(0x1c849314, 0);
  outer.writeUInt32BE(compressed.length, 4);
  return Buffer.concat([outer, compressed]).toString('base64');
}

/** A V2 header (40 bytes) with the given claims, then the payload. */
function v2(payload: Buffer, o: { payloadLength?: number; digits?: number; lowest?: number; highest?: number } = {}): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x1c849313, 0);
  h.writeUInt32BE(o.payloadLength ?? payload.length, 4);
  h.writeInt32BE(0, 8);
  h.writeInt32BE(o.digits ?? 3, 12);
  h.writeBigInt64BE(BigInt(o.lowest ?? 1), 16);
  h.writeBigInt64BE(BigInt(o.highest ?? 60_000_000), 24);
  h.writeDoubleBE(1, 32);
  return Buffer.concat([h, payload]);
}

const inflatedOf = (encoded: string) => zlib.inflateSync(Buffer.from(encoded, 'base64').subarray(8));

const real = encodeHistogram(histogramOf(latencies(5, 5000, 2000)));
/** The header claims a 2 GiB payload (the case). */
const hugeClaim = (() => {
  const inner = Buffer.from(inflatedOf(real));
  inner.writeUInt32BE(2 ** 31, 4);
  return wrap(inner);
})();
/** A zero run of 2^50 buckets: hdr-histogram-js would then scan that many counts. */
const zeroRunBomb = wrap(v2(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07])));
/** A range of 1..2^53 at 5 digits: a counts array of millions. */
const hugeRange = wrap(v2(Buffer.from([2]), { digits: 5, highest: Number.MAX_SAFE_INTEGER }));
/** 3 MiB of zeros from a few KiB: a zlib bomb. */
const zlibBomb = wrap(v2(Buffer.alloc(3 * 2 ** 20)));

describe('bounded histogram decoding', () => {
  it('decodes what we encode, exactly', () => {
    const h = histogramOf([...latencies(9, 20_000, 3000, 1.2), 59_000_000, 2 ** 40]);
    const d = decodeHistogram(encodeHistogram(h));
    assert.equal(d.totalCount, h.totalCount);
    for (const p of [50, 99, 99.99, 100]) assert.equal(d.getValueAtPercentile(p), h.getValueAtPercentile(p));
    assert.equal(encodeHistogram(d), encodeHistogram(h));
    assert.equal(decodeHistogram(encodeHistogram(createHistogram())).totalCount, 0);
    assert.equal(countsArrayLength(1, 60_000_000, 3), h.countsArrayLength === 32768 ? 17408 : countsArrayLength(1, 60_000_000, 3));
    assert.equal(countsArrayLength(1, 60_000_000, 3), createHistogram().countsArrayLength);
  });

  const hostile: Array<[string, unknown, RegExp]> = [
    ['a 2 GiB payload claimed', hugeClaim, /claims a payload of 2147483648 bytes, holds \d+/],
    ['a zero run of 2^50 buckets', zeroRunBomb, /fills more than its \d+ buckets/],
    ['a range of 2^53 at 5 digits', hugeRange, new RegExp(`more than ${MAX_COUNTS} buckets`)],
    ['a zlib bomb', zlibBomb, /inflates past \d+ bytes/],
    ['a compressed length beyond the bytes', (() => {
      const b = Buffer.from(real, 'base64');
      b.writeUInt32BE(2 ** 31, 4);
      return b.toString('base64');
    })(), /claims 2147483648 compressed bytes/],
    ['garbage', 'HISTFAAAAgarbage', /not base64|bad cookie|not a zlib stream|too short|claims \d+ compressed bytes/],
    ['not base64', 'not a histogram!', /not base64/],
    ['a number', 12, /expected an encoded histogram \(a base64 string\), got number/],
    ['a count that ends mid-word', wrap(v2(Buffer.from([0x82]))), /ends inside a count/],
  ];
  for (const [what, encoded, re] of hostile) {
    it(`refuses ${what} in milliseconds`, () => {
      const t0 = performance.now();
      assert.throws(() => decodeHistogram(encoded as string), (e: unknown) => e instanceof HistogramDecodeError && re.test(e.message));
      // ~1 ms alone; the bound is far from the 38 s a believed 2 GiB claim took, and far enough
      // from 1 ms for a worker at low priority on a busy machine (242 ms seen at load 18).
      assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
    });
  }

  it('a document of hundreds of histograms, each as costly as the bounds allow, is checked in well under a second', () => {
    const doc = JSON.parse(JSON.stringify(simulateRun({ perInterval: 10, intervals: 2, handshakeUs: latencies(3, 40, 1000) })));
    // Within the bounds: as many buckets of count 1 as a histogram of a few hundred characters may inflate to.
    const words = INFLATE_SLACK - 64;
    const heavy = wrap(v2(Buffer.alloc(words, 2), { digits: 4, highest: 2 ** 20 }));
    assert.equal(inspectEncodedHistogram(heavy).totalCount, words);
    assert.throws(() => inspectEncodedHistogram(wrap(v2(Buffer.alloc(INFLATE_SLACK * 2, 2), { digits: 4, highest: 2 ** 20 }))), /inflates past/);
    doc.intervals = Array.from({ length: 300 }, (_, k) => ({ ...doc.intervals[0], index: k, histograms: { handshake: heavy, connect: heavy } }));
    let t0 = performance.now();
    validateResult(doc, 'heavy.json');
    assert.ok(performance.now() - t0 < 1000, `${(performance.now() - t0).toFixed(0)} ms for 600 histograms`);
    // And the same document with one hostile histogram at the end fails as fast.
    doc.intervals[299].histograms.connect = hugeClaim;
    t0 = performance.now();
    assert.throws(() => validateResult(doc, 'heavy.json'), /heavy\.json: intervals\[299\]\.histograms\.connect: encoded histogram claims a payload/);
    assert.ok(performance.now() - t0 < 1000);
  });
});

// ---- malformed documents, field by field ----------------------------------------------------------

const base = JSON.parse(JSON.stringify(simulateRun({ perInterval: 300, intervals: 3, tailMs: 200, handshakeUs: latencies(1, 2000, 1500), connectUs: latencies(2, 2000, 100), errors: { refused: 2 } })));
const withRounds = JSON.parse(JSON.stringify(simulateRounds([{ perInterval: 100, intervals: 2, handshakeUs: latencies(3, 400, 1000) }, { perInterval: 100, intervals: 2, handshakeUs: latencies(4, 400, 1000) }])));

type Mutation = (d: any) => void;
/** [what, mutation, the line expected after "FILE: "]. */
const MALFORMED: Array<[string, Mutation, RegExp]> = [
  ['intervals: [{}]', (d) => (d.intervals = [{}]), /^intervals\[0\]\.index: missing$/],
  ['rounds: [{duration: 1}]', (d) => (d.rounds = [{ duration: 1 }]), /^rounds\[0\]\.index: missing$/],
  ['start: "yesterday"', (d) => (d.start = 'yesterday'), /^start: expected an ISO 8601 time, got a string "yesterday"$/],
  ['totals.handshakes: "3609abc"', (d) => (d.totals.handshakes = '3609abc'), /^totals\.handshakes: expected a count \(an integer ≥ 0\), got a string "3609abc"$/],
  ['errors.reset: "0many"', (d) => (d.errors.reset = '0many'), /^errors\["reset"\]: expected a count \(an integer ≥ 0\), got a string "0many"$/],
  ['a negative count', (d) => (d.totals.handshakes = -5), /^totals\.handshakes: expected a count \(an integer ≥ 0\), got -5$/],
  ['a negative error count', (d) => (d.errors.refused = -1), /^errors\["refused"\]: expected a count/],
  ['intervals: "x"', (d) => (d.intervals = 'x'), /^intervals: expected an array, got a string "x"$/],
  ['intervals[0].counters: null', (d) => (d.intervals[0].counters = null), /^intervals\[0\]\.counters: expected an object, got null$/],
  ['a garbage encoded histogram', (d) => (d.latency.handshake.encoded = 'HISTFAAAAgarbage'), /^latency\.handshake\.encoded: (encoded histogram|not an HdrHistogram)/],
  ['a numeric encoded histogram', (d) => (d.latency.handshake.encoded = 42), /^latency\.handshake\.encoded: expected an encoded histogram \(a base64 string\), got number$/],
  ['a garbage interval histogram', (d) => (d.intervals[1].histograms.handshake = 'bm90IGEgaGlzdG9ncmFt'), /^intervals\[1\]\.histograms\.handshake: /],
  ['latency.handshake: null', (d) => (d.latency.handshake = null), /^latency\.handshake: expected an object, got null$/],
  ['machine: null', (d) => (d.machine = null), /^machine: expected an object, got null$/],
  ['machine missing', (d) => delete d.machine, /^machine: missing$/],
  ['openssl: null', (d) => (d.openssl = null), /^openssl: expected an object, got null$/],
  ['openssl missing', (d) => delete d.openssl, /^openssl: missing$/],
  ['params: null', (d) => (d.params = null), /^params: expected an object, got null$/],
  ['params missing', (d) => delete d.params, /^params: missing$/],
  ['target: null', (d) => (d.target = null), /^target: expected an object, got null$/],
  ['target missing', (d) => delete d.target, /^target: missing$/],
  ['a rate mean: "x"', (d) => (d.rates.handshakesPerSec.mean = 'x'), /^rates\.handshakesPerSec\.mean: expected a number ≥ 0, got a string "x"$/],
  ['duration: "4s"', (d) => (d.duration = '4s'), /^duration: expected a number ≥ 0, got a string "4s"$/],
  ['rounds: [{}]', (d) => (d.rounds = [{}]), /^rounds\[0\]\.index: missing$/],
  ['rounds: "x"', (d) => (d.rounds = 'x'), /^rounds: expected an array, got a string "x"$/],
  ['a round without totals', (d) => (d.rounds = JSON.parse(JSON.stringify(withRounds.rounds)), delete d.rounds[1].totals), /^rounds\[1\]\.totals: missing$/],
  ['a 2 GiB histogram header', (d) => (d.latency.handshake.encoded = hugeClaim), /^latency\.handshake\.encoded: encoded histogram claims a payload of 2147483648 bytes/],
  ['totals missing', (d) => delete d.totals, /^totals: missing$/],
  ['groups.X25519: "many"', (d) => (d.groups = { X25519: 'many' }), /^groups\["X25519"\]: expected a count/],
  ['handshakeBytes.full: null', (d) => (d.handshakeBytes = { full: null }), /^handshakeBytes\.full: expected an object, got null$/],
  ['accounting.started: 1e999', (d) => (d.accounting = { unit: 'handshake', started: 1e999, succeeded: 0, failed: 0, cutOff: 0, inFlightAtEnd: 0, backlogAtEnd: 0 }), /^accounting\.started: expected a count \(an integer ≥ 0\), got Infinity$/],
  ['backend: "kqueue"', (d) => (d.backend = 'kqueue'), /^backend: expected one of "io_uring", "epoll", "iocp", got a string "kqueue"$/],
  ['finish before start', (d) => (d.finish = '2000-01-01T00:00:00.000Z'), /^finish: 2000-01-01T00:00:00\.000Z is before start /],
];

describe('result documents are validated against the schema', () => {
  it('the documents bench writes pass, rounds and all', () => {
    validateResult(JSON.parse(JSON.stringify(base)), 'base.json');
    validateResult(JSON.parse(JSON.stringify(withRounds)), 'rounds.json');
  });

  for (const [what, mutate, re] of MALFORMED) {
    it(`${what}: one line naming the field`, () => {
      const d = JSON.parse(JSON.stringify(base));
      mutate(d);
      assert.throws(
        () => validateResult(d, 'base.json'),
        (e: unknown) => {
          assert.ok(e instanceof ResultFileError, String(e));
          assert.ok(e.message.startsWith('base.json: '), e.message);
          assert.match(e.message.slice('base.json: '.length), re);
          assert.ok(!e.message.includes('\n'));
          return true;
        }
      );
    });
  }

  describe('on the command line: exit 2, the field named, one line, no stack', function () {
    this.timeout(120_000);
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-validation-'));
      fs.writeFileSync(path.join(dir, 'good.json'), JSON.stringify(base));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const write = (name: string, mutate: Mutation) => {
      const d = JSON.parse(JSON.stringify(base));
      mutate(d);
      const file = path.join(dir, name);
      // JSON.stringify writes Infinity as null; a file can say 1e999.
      fs.writeFileSync(file, JSON.stringify(d, (_k, v) => (v === Infinity ? '__INF__' : v), 2).replace(/"__INF__"/g, '1e999'));
      return file;
    };
    const check = async (args: string[], file: string, re: RegExp, what: string) => {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${what}: ${args[0]}\n${dump(r)}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what}: ${args[0]}: ${r.stderr}`);
      assert.ok(!/TypeError|\n\s+at /.test(r.stderr), r.stderr);
      const prefix = `${file}: `;
      assert.ok(lines[0].includes(prefix), `${what}: ${lines[0]}`);
      assert.match(lines[0].slice(lines[0].indexOf(prefix) + prefix.length), re, `${what}: ${args[0]}`);
      return r;
    };

    // Every case through each command would be ~100 process starts; each command gets a third of
    // the cases (rotating), and the issue's own cases go through all three.
    const everywhere = new Set(['intervals: [{}]', 'rounds: [{duration: 1}]', 'start: "yesterday"', 'totals.handshakes: "3609abc"', 'errors.reset: "0many"', 'intervals[0].counters: null', 'latency.handshake: null']);
    MALFORMED.forEach(([what, mutate, re], k) => {
      const commands = everywhere.has(what) ? ['compare', 'merge', 'report'] : [['compare', 'merge', 'report'][k % 3]];
      it(`${what}: ${commands.join(', ')}`, async () => {
        const file = write(`bad${k}.json`, mutate);
        const good = path.join(dir, 'good.json');
        for (const cmd of commands) {
          const args = cmd === 'compare' ? ['compare', file, good] : cmd === 'merge' ? ['merge', good, file] : ['report', file];
          await check(args, file, re, what);
        }
        // compare names NEW's field as well as BASE's.
        if (commands.includes('compare') && everywhere.has(what)) await check(['compare', good, file], file, re, what);
      });
    });

    it('a hostile histogram header (2 GiB claimed) is exit 2 at once, not a 38 s decode', async () => {
      const file = write('hostile.json', (d) => {
        d.latency.handshake.encoded = hugeClaim;
        for (const i of d.intervals) i.histograms.handshake = hugeClaim;
      });
      for (const args of [['compare', file, path.join(dir, 'good.json')], ['merge', file], ['report', file]]) {
        const r = await check(args, file, /^latency\.handshake\.encoded: encoded histogram claims a payload of 2147483648 bytes/, 'hostile');
        // Process start included (~0.5 s on a quiet machine; this one is shared).
        assert.ok(r.ms < 5000, `${args[0]} took ${r.ms.toFixed(0)} ms`);
      }
    });

    it('merge no longer adds a string count as text: "3609abc" is refused, and report never prints NaN', async () => {
      const file = write('nan.json', (d) => (d.totals.handshakes = '3609abc'));
      const r = await runCli(['merge', path.join(dir, 'good.json'), file, '--json']);
      assert.equal(r.code, 2, dump(r));
      const out = JSON.parse(r.out);
      assert.match(out.error.message, /totals\.handshakes: expected a count/);
      assert.equal(out.totals, undefined, 'no merged document');
      const ok = await runCli(['report', path.join(dir, 'good.json')]);
      assert.equal(ok.code, 0, dump(ok));
      assert.ok(!/NaN/.test(ok.out));
    });
  });
});
