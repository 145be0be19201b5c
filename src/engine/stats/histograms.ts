// The one place that fixes histogram bounds and precision (autocannon's histUtil.js).
// Workers record into their own histograms, ship them encoded, and the main thread adds
// them: percentiles of a merge are exact for the union of samples, averages of percentiles
// would not be.

import * as zlib from 'node:zlib';
// hdr-histogram-js's plain-JS parts only: its index also loads the WebAssembly build (an inlined
// binary, its loader, pako), a third of every CLI start's ~0.2 s in that package, for nothing we
// use. The encoding module sets JsHistogram.decode and JsHistogram.prototype.encodeIntoCompressedBase64.
import { JsHistogram } from 'hdr-histogram-js/dist/JsHistogram';
import { constructorFromBucketSize } from 'hdr-histogram-js/dist/JsHistogramFactory';
import 'hdr-histogram-js/dist/JsHistogram.encoding';

/** The concrete histogram type we use everywhere: the plain-JS implementation. */
export type Histogram = JsHistogram;

/** All latency histograms record microseconds. */
export const LOWEST_US = 1;
/** Pre-sized for 60 s; larger values grow the histogram instead of throwing (see createHistogram). */
export const HIGHEST_US = 60_000_000;
export const SIGNIFICANT_DIGITS = 3;
// 64-bit (float64) counts: exact to 2^53. Coordinated-omission correction synthesises many
// samples per stall, which can overflow 32-bit counts on long constant-rate runs.
const BIT_BUCKET_SIZE = 64;

/**
 * A new empty latency histogram (µs, 1 µs .. 60 s, 3 significant digits).
 *
 * Plain JS, never WebAssembly: the wasm build needs an async init per thread, and we create
 * histograms inside worker threads. autoResize is on so that a value past 60 s (a stalled
 * connection, or a coordinated-omission correction of one) is recorded rather than throwing
 * in a worker's completion loop.
 */
export function createHistogram(): Histogram {
  // What hdr.build({ bitBucketSize: 64, autoResize: true, useWebAssembly: false, ... }) does.
  const h = new (histogramClass())(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS);
  h.autoResize = true;
  return h;
}

type HistogramClass = new (lowest: number, highest: number, digits: number) => Histogram;
let fastClass: HistogramClass | undefined;

/**
 * The float64 histogram with its bucket arithmetic in integers: hdr-histogram-js computes every
 * recorded value's bucket with Math.log2 and Math.pow (a tenth of a bench http worker's JS time
 * went to them, two values per request). For 0 <= value < 2^31 (µs: 35 minutes),
 * floor(log2(v)) is 31 - clz32(v) and floor(v / 2^s) is v >>> s exactly, integer or not (the
 * shift truncates, as floor does for positive numbers); beyond that the library's own code runs.
 */
function histogramClass(): HistogramClass {
  if (fastClass) return fastClass;
  const Base = constructorFromBucketSize(BIT_BUCKET_SIZE) as unknown as HistogramClass;
  const base = Base.prototype as Histogram;
  const TWO_31 = 2 ** 31;
  class IntegerBucketHistogram extends (Base as unknown as new (lowest: number, highest: number, digits: number) => object) {}
  // computeCountsArrayIndex is private in the typings, hence methods put on the prototype rather than declared.
  Object.assign(IntegerBucketHistogram.prototype, {
    getBucketIndex(this: Histogram, value: number): number {
      if (!(value >= 0 && value < TWO_31)) return base.getBucketIndex.call(this, value);
      const b = 31 - Math.clz32(value) - this.subBucketHalfCountMagnitude - this.unitMagnitude;
      return b > 0 ? b : 0;
    },
    getSubBucketIndex(this: Histogram, value: number, bucketIndex: number): number {
      const shift = bucketIndex + this.unitMagnitude;
      if (!(value >= 0 && value < TWO_31) || shift > 31) return base.getSubBucketIndex.call(this, value, bucketIndex);
      return value >>> shift;
    },
    // (bucket + 1) * 2^subBucketHalfCountMagnitude, with pow() in the library.
    computeCountsArrayIndex(this: Histogram, bucketIndex: number, subBucketIndex: number): number {
      return (bucketIndex + 1) * this.subBucketHalfCount + subBucketIndex - this.subBucketHalfCount;
    },
  });
  return (fastClass = IntegerBucketHistogram as unknown as HistogramClass);
}

/** The compressed base64 V2 encoding (HdrHistogram's interchange format, "HISTF..."). */
export function encodeHistogram(h: Histogram): string {
  return h.encodeIntoCompressedBase64();
}

// Decoding is bounded. An encoded histogram comes from a file that anyone may have written, and
// hdr-histogram-js believes its headers: a payload length of 2 GiB makes it walk 2 GiB of bytes
// that are not there (38 s), a run of zeros of 2^60 buckets makes it scan that many counts, and a
// large enough range allocates gigabytes. So before hdr-histogram-js sees the bytes we check what
// the V2 format promises (HdrHistogram's EncodableHistogram / "V2 compressed" layout):
//   outer: int32 cookie 0x1c84930x, int32 length of the zlib stream, the stream;
//   inner: int32 cookie 0x1c84930x, int32 payload length, int32 normalizing offset, int32 digits,
//          int64 lowest, int64 highest, float64 conversion ratio (40 bytes), then the counts as
//          ZigZag LEB128 words (a negative word is a run of zero counts).
// Every claimed length must fit in the bytes actually there, the range must make a counts array
// of a sane size, and the words must fill no more than that array: then decoding costs at most
// a few milliseconds per histogram, whatever the file says.

/** The longest encoded histogram accepted (base64 characters). Ours: a few KiB; a full 2^53 range at 3 digits stays under 1 MiB. */
export const MAX_ENCODED_CHARS = 4 * 2 ** 20;
/** The largest inflated histogram accepted, bytes (a counts array of MAX_COUNTS at 9 bytes per word, and the header). */
export const MAX_INFLATED_BYTES = 2 * 2 ** 20;
/** The most buckets a decoded histogram may have (ours: 17,408 for 60 s; 45,056 grown to 2^53 µs). */
export const MAX_COUNTS = 2 ** 18;

/**
 * An encoded histogram may inflate to at most this many times its own length, plus INFLATE_SLACK:
 * real counts compress 2-5x, while a zlib bomb of 400 characters inflates to megabytes of repeated
 * words. With this, checking a document costs time in proportion to its size.
 */
export const INFLATE_RATIO = 64;
export const INFLATE_SLACK = 16 * 1024;

const V2_COOKIE = 0x1c849303;
const V2_COMPRESSED_COOKIE = 0x1c849304;
const V2_HEADER_BYTES = 40;

/** An encoded histogram that is not one, or not one we agree to decode; the message is a short phrase. */
export class HistogramDecodeError extends Error {
  readonly code = 'IOCPTLS_ERR_HISTOGRAM';
  constructor(message: string) {
    super(message);
    this.name = 'HistogramDecodeError';
  }
}

/** What the checks learned about an encoded histogram. */
export interface EncodedHistogramInfo {
  /** Bytes of the zlib-inflated encoding (header and counts). */
  inflatedBytes: number;
  /** Buckets of the histogram it decodes into. */
  countsLength: number;
  totalCount: number;
  /** The inflated encoding, to decode without inflating twice. */
  inflated: Uint8Array;
}

/** HdrHistogram's counts array length for a range and precision (AbstractHistogram's constructor), or Infinity past MAX_COUNTS. */
export function countsArrayLength(lowest: number, highest: number, digits: number): number {
  const largestValueWithSingleUnitResolution = 2 * 10 ** digits;
  const subBucketCountMagnitude = Math.ceil(Math.log2(largestValueWithSingleUnitResolution));
  const subBucketHalfCountMagnitude = Math.max(subBucketCountMagnitude, 1) - 1;
  const subBucketCount = 2 ** (subBucketHalfCountMagnitude + 1);
  const unitMagnitude = Math.floor(Math.log2(lowest));
  let smallestUntrackableValue = subBucketCount * 2 ** unitMagnitude;
  let bucketsNeeded = 1;
  while (smallestUntrackableValue <= highest) {
    if (smallestUntrackableValue > Number.MAX_SAFE_INTEGER / 2) {
      bucketsNeeded++;
      break;
    }
    smallestUntrackableValue *= 2;
    bucketsNeeded++;
  }
  const n = (bucketsNeeded + 1) * (subBucketCount / 2);
  return n > MAX_COUNTS ? Infinity : n;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Checks an encoded histogram without trusting any length it claims; throws HistogramDecodeError. */
export function inspectEncodedHistogram(encoded: unknown): EncodedHistogramInfo {
  if (typeof encoded !== 'string') throw new HistogramDecodeError(`expected an encoded histogram (a base64 string), got ${encoded === null ? 'null' : typeof encoded}`);
  const text = encoded.trim();
  if (text.length > MAX_ENCODED_CHARS) throw new HistogramDecodeError(`encoded histogram of ${text.length} characters (at most ${MAX_ENCODED_CHARS})`);
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new HistogramDecodeError('encoded histogram is not base64');
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < 8) throw new HistogramDecodeError('encoded histogram too short for its header');
  const outer = bytes.readUInt32BE(0);
  if ((outer & ~0xf0) >>> 0 !== V2_COMPRESSED_COOKIE) throw new HistogramDecodeError('not an HdrHistogram V2 compressed encoding (bad cookie)');
  const compressedLength = bytes.readUInt32BE(4);
  if (compressedLength > bytes.length - 8) {
    throw new HistogramDecodeError(`encoded histogram claims ${compressedLength} compressed bytes, holds ${bytes.length - 8}`);
  }
  const maxInflated = Math.min(MAX_INFLATED_BYTES, INFLATE_RATIO * text.length + INFLATE_SLACK);
  let inflated: Buffer;
  try {
    inflated = zlib.inflateSync(bytes.subarray(8, 8 + compressedLength), { maxOutputLength: maxInflated });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HistogramDecodeError(
      err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError
        ? `encoded histogram of ${text.length} characters inflates past ${maxInflated} bytes`
        : 'encoded histogram is not a zlib stream'
    );
  }
  if (inflated.length < V2_HEADER_BYTES) throw new HistogramDecodeError('encoded histogram too short for its V2 header');
  if ((inflated.readUInt32BE(0) & ~0xf0) >>> 0 !== V2_COOKIE) throw new HistogramDecodeError('not an HdrHistogram V2 encoding (bad inner cookie)');
  const payloadLength = inflated.readUInt32BE(4);
  if (payloadLength > inflated.length - V2_HEADER_BYTES) {
    throw new HistogramDecodeError(`encoded histogram claims a payload of ${payloadLength} bytes, holds ${inflated.length - V2_HEADER_BYTES}`);
  }
  const digits = inflated.readInt32BE(12);
  const lowest = Number(inflated.readBigInt64BE(16));
  const highest = Number(inflated.readBigInt64BE(24));
  if (!(digits >= 0 && digits <= 5)) throw new HistogramDecodeError(`encoded histogram has ${digits} significant digits (0 to 5)`);
  if (!(lowest >= 1 && highest >= 2 * lowest && highest <= Number.MAX_SAFE_INTEGER)) {
    throw new HistogramDecodeError(`encoded histogram has a range of ${lowest} to ${highest}`);
  }
  const countsLength = countsArrayLength(lowest, highest, digits);
  if (countsLength === Infinity) throw new HistogramDecodeError(`encoded histogram would have more than ${MAX_COUNTS} buckets`);
  // The words, as hdr-histogram-js reads them (ZigZagEncoding.decode: up to 9 bytes of 7 bits).
  let pos = V2_HEADER_BYTES;
  const end = V2_HEADER_BYTES + payloadLength;
  let index = 0;
  let totalCount = 0;
  while (pos < end) {
    const first = inflated[pos];
    if (first < 0x80) {
      // One-byte words (counts below 64, short zero runs): most of any payload.
      pos++;
      if (first & 1) index += (first + 1) >>> 1;
      else {
        totalCount += first >>> 1;
        index++;
      }
      if (index > countsLength) throw new HistogramDecodeError(`encoded histogram fills more than its ${countsLength} buckets`);
      continue;
    }
    let value = 0;
    let scale = 1;
    let k = 0;
    for (;;) {
      if (pos >= end) throw new HistogramDecodeError('encoded histogram ends inside a count');
      const b = inflated[pos++];
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0 || ++k === 9) break;
    }
    const word = value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    if (word < 0) index -= word; // a run of zero counts
    else {
      totalCount += word;
      index++;
    }
    if (index > countsLength) throw new HistogramDecodeError(`encoded histogram fills more than its ${countsLength} buckets`);
  }
  if (!Number.isSafeInteger(totalCount)) throw new HistogramDecodeError('encoded histogram counts more than 2^53 samples');
  return { inflatedBytes: inflated.length, countsLength, totalCount, inflated };
}

type V2Decoder = (data: Uint8Array, bitBucketSize: number, minBarForHighestTrackableValue: number) => Histogram;

/**
 * Decodes an encoded histogram once inspectEncodedHistogram has found it sound, so a hostile one
 * fails in milliseconds (HistogramDecodeError) instead of hanging or exhausting memory.
 */
export function decodeHistogram(encoded: string): Histogram {
  const info = inspectEncodedHistogram(encoded);
  // hdr-histogram-js decodes inflated bytes with JsHistogram.decode (set by its encoding module);
  // through it we inflate once. Should a later version move it, the public call does the same.
  const decodeV2 = (JsHistogram as unknown as { decode?: V2Decoder }).decode;
  const h = (
    typeof decodeV2 === 'function' ? decodeV2(info.inflated, BIT_BUCKET_SIZE, 0) : (require('hdr-histogram-js') as typeof import('hdr-histogram-js')).decodeFromCompressedBase64(encoded, BIT_BUCKET_SIZE, false)
  ) as Histogram;
  h.autoResize = true;
  return h;
}

/** Adds every histogram (or encoded histogram) into a new one. Inputs are not modified. */
export function mergeHistograms(list: ReadonlyArray<Histogram | string>): Histogram {
  const merged = createHistogram();
  for (const item of list) merged.add(typeof item === 'string' ? decodeHistogram(item) : item);
  return merged;
}

/** Latency statistics in the histogram's unit (µs for ours). */
export interface LatencySummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  stdev: number;
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
  p99_99: number;
}

export const PERCENTILES: ReadonlyArray<readonly [keyof LatencySummary, number]> = [
  ['p50', 50],
  ['p90', 90],
  ['p99', 99],
  ['p99_9', 99.9],
  ['p99_99', 99.99],
];

/**
 * min and max are reported as HdrHistogram's Java getMinValue/getMaxValue do (the lowest /
 * highest equivalent value of the bucket), not the raw recorded value that hdr-histogram-js
 * keeps: the raw value does not survive encoding, so the summary of a histogram and of its
 * decoded copy would otherwise differ.
 */
export function summarizeHistogram(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) {
    return { count: 0, min: 0, max: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p99: 0, p99_9: 0, p99_99: 0 };
  }
  const min = h.getCountAtIndex(0) > 0 ? 0 : h.lowestEquivalentValue(h.minNonZeroValue);
  const max = h.maxValue === 0 ? 0 : h.highestEquivalentValue(h.maxValue);
  return {
    count,
    min,
    max,
    mean: h.mean,
    stdev: h.stdDeviation,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p99_9: h.getValueAtPercentile(99.9),
    p99_99: h.getValueAtPercentile(99.99),
  };
}
