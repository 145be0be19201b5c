// What the bench commands share: flags, turning them into a run, and showing the result:
// tables and plot on stdout (or the JSON document with --json), progress on stderr when it is a TTY.
import { Args, Flags } from '@oclif/core';
import fs from 'node:fs';
import os from 'node:os';
import { EXIT_FAILURE, EXIT_USAGE, IocptlsCommand } from './base';
import { assertReadable, assertWritable, reportUnwritten, writeOutputs } from './files';
import { bindFlag, parseBind } from './bind_flag';
import { durationFlag } from './duration_flag';
import { parseShard, parseStartAt, Shard, shardFlags, shardLoad } from './shard_flags';
import { parseTarget, resolveHost } from './target';
import { tlsFlags, tlsOptionsFromFlags } from './tls_flags';
import { alpnFor } from './http_flags';
import { BenchControl, BenchRun, defaultWorkers, runBench, BenchOptions, StartRecord } from '../engine/bench';
import type { Backend } from '../engine/setup';
import { ConfigError } from '../engine/errors';
import { totalErrors } from '../engine/stats/counters';
import { createHistogram } from '../engine/stats/histograms';
import { opensslInfo } from '../engine/openssl_info';
import type { BenchKind } from '../engine/workers/bench_worker';
import { toHgrm } from '../report/hgrm';
import { renderRunHtml } from '../report/html';
import { plotLatency } from '../report/plot';
import { buildResult, ResultDocument, StartAt } from '../report/result';
import { renderResult } from '../report/table';
import { renderProgress } from '../report/progress';
import { signalExitCode, stopOnSignals } from './stop_on_signals';
import { checkRendezvousFlags, finishShared, openRendezvous, RendezvousFlags, runIdentity } from './rendezvous_run';
import { renderShards } from '../report/shards_table';
import { decodeHistogram, Histogram } from '../engine/stats/histograms';

export const benchArgs = {
  target: Args.string({ description: 'HOST:PORT to benchmark [default: an embedded server on 127.0.0.1]' }),
};

export const commonBenchFlags = {
  connections: Flags.integer({ char: 'c', description: 'concurrent connections', min: 1, max: 100000 }),
  workers: Flags.integer({ char: 'w', description: 'client worker threads [default: cores, or half of them with the embedded server]', min: 1, max: 256 }),
  duration: durationFlag({ char: 'd', description: 'measured time after the warmup: seconds, or with a unit (500ms, 2s, 1m)', min: 0.1 }),
  warmup: durationFlag({ description: 'load before measuring starts, each round its own (seconds, or 500ms, 2s...)', min: 0 }),
  rounds: Flags.integer({
    description: 'measure N rounds, each a complete run (warmup, -d seconds, drain) separated by --round-pause: one sample each for `compare`',
    default: 1,
    min: 1,
    max: 1000,
  }),
  'round-pause': durationFlag({ description: 'time between rounds: seconds, or 500ms, 2s...', min: 0, max: 3600, default: 1 }),
  ...tlsFlags,
  servername: Flags.string({ description: 'SNI to send (and name to verify with --verify)' }),
  cert: Flags.string({ description: 'client certificate, with its chain (PEM)', dependsOn: ['key'] }),
  key: Flags.string({ description: 'private key of --cert (PEM)', dependsOn: ['cert'] }),
  verify: Flags.boolean({ description: 'verify the server certificate (off by default for load; the report says which)', default: false }),
  ca: Flags.string({ description: 'trust only the CA certificates in this PEM file (with --verify)' }),
  timeout: Flags.integer({ description: 'connect + handshake timeout per connection, ms', default: 10000, min: 1 }),
  'server-workers': Flags.integer({ description: 'worker threads of the embedded server [default: half the cores]', min: 1, max: 256 }),
  hgrm: Flags.string({ description: 'write the latency histogram as HdrHistogram percentile text to this file' }),
  'max-error-rate': Flags.string({
    description: 'fail the run (exit 1, report still printed) when more than this % of attempts in the window failed',
    default: '1',
  }),
  plot: Flags.boolean({ description: 'draw the latency distribution', default: true, allowNo: true }),
  html: Flags.string({ description: 'write a self-contained HTML report (charts, no scripts, nothing fetched) to this file', helpValue: 'FILE' }),
  ...shardFlags,
  ...bindFlag,
};

/** A late start beyond this is worth a warning: merged per-second rates would mix different seconds. */
const LATE_START_WARN_MS = 50;

export type BenchFlags = Record<string, any>;

export abstract class BenchCommand extends IocptlsCommand {
  static enableJsonFlag = true;

  protected async runBenchFrom(kind: BenchKind, targetArg: string | undefined, flags: BenchFlags, extra: Partial<BenchOptions>): Promise<ResultDocument> {
    const { options, backend, target, shard, whole, startAtMs, rendezvousAt } = await this.prepareBench(kind, targetArg, flags, extra);
    const maxErrorRate = parsePercent(flags['max-error-rate'], '--max-error-rate');
    const progress = process.stderr.isTTY && !this.jsonEnabled();
    const rounds = options.rounds ?? 1;
    // --rendezvous: shard 0 listens, the others join, before any worker starts.
    const shared = rendezvousAt && shard ? await openRendezvous(flags as RendezvousFlags, rendezvousAt, shard, runIdentity(kind, target, shard, whole)) : undefined;
    if (shared) options.startGate = () => shared.gate();
    if (progress) {
      const each = options.count ? `${options.count} ${kind === 'http' ? 'requests' : 'handshakes'}` : `${options.warmupSec}+${options.durationSec} s`;
      const shape = rounds > 1 ? `${rounds} rounds of ${each}, ${options.roundPauseSec} s apart` : each;
      process.stderr.write(`iocptls bench ${kind}: ${target ? `${target.host}:${target.port}` : 'embedded server'}, ${options.connections} connections, ${shape}${shard ? `, shard ${shard.index}/${shard.count}` : ''}\n`);
      if (startAtMs !== undefined && startAtMs > Date.now()) {
        process.stderr.write(`iocptls: starting at ${new Date(startAtMs).toISOString()} (in ${((startAtMs - Date.now()) / 1000).toFixed(1)} s)\n`);
      }
      let round = '';
      options.onRound = (r) => (round = `round ${r + 1}/${rounds}`);
      options.onProgress = (s, elapsed) => process.stderr.write('\r' + (round ? `  ${round}` : '') + renderProgress(kind, s, elapsed, options.count ? 0 : options.durationSec) + '\x1b[K');
    }
    const control = (options.control = new BenchControl());
    const release = stopOnSignals(control, { clearLine: progress, covers: 'the report covers what was measured' });
    let run: BenchRun;
    try {
      run = await runBench(options);
    } catch (e) {
      shared?.close();
      throw e;
    } finally {
      release();
    }
    if (progress) process.stderr.write('\r\x1b[K');
    const own = this.#document(kind, run, options, backend, maxErrorRate, shard && { ...shard, whole, rendezvous: shared?.address });
    if (own.startAt?.lateMs !== undefined && own.startAt.lateMs > LATE_START_WARN_MS) {
      const what = shared ? `the start shard 0 announced (${own.startAt.intended})` : `--start-at ${own.startAt.intended}`;
      process.stderr.write(`iocptls: warning: started ${own.startAt.lateMs.toFixed(0)} ms after ${what}: ${shared ? 'a busy machine, or clocks out of sync' : 'give the shards more time to get ready'}\n`);
    }
    // Shard 0 of a rendezvous answers for the whole run: the merged document replaces its own.
    let doc = own;
    let failures: string[] = [];
    if (shared) {
      const stop = stopSignal();
      const outcome = await finishShared(shared, own, stop.signalled).finally(stop.release);
      doc = outcome.doc;
      failures = outcome.failures;
      for (const w of outcome.warnings) process.stderr.write(`iocptls: warning: ${w}\n`);
    }
    const primary = doc === own ? (kind === 'http' ? run.histograms.request : kind === 'pingpong' || (kind === 'connections' && run.histograms.rtt) ? run.histograms.rtt : run.histograms.handshake) : mergedPrimary(doc);
    const primaryIsRtt = doc === own ? primary === run.histograms.rtt && primary !== undefined : doc.kind === 'pingpong';
    // The paths were checked before the run; a write that still fails (a full disk, a directory
    // removed meanwhile) is said, and the measured result is shown all the same.
    const unwritten = writeOutputs([
      // HdrHistogram's text format is conventionally in milliseconds: our values are µs.
      { flag: '--hgrm', file: flags.hgrm, write: (f) => fs.writeFileSync(f, toHgrm(primary ?? createHistogram(), 1000)) },
      { flag: '--html', file: flags.html, write: (f) => fs.writeFileSync(f, renderRunHtml(doc)) },
    ]);
    if (!this.jsonEnabled()) {
      const color = process.stdout.isTTY === true;
      this.log(renderResult(doc, { color }));
      if (doc !== own) this.log(renderShards(doc, { color }) ?? '');
      if (flags.plot && primary && primary.totalCount > 0) {
        this.log(plotLatency(primary, { title: primaryIsRtt ? 'Round-trip latency' : doc.kind === 'http' ? 'Request latency' : 'Handshake latency' }));
      }
    } else if (doc.client?.warning) {
      process.stderr.write(`iocptls: warning: ${doc.client.warning}\n`);
    }
    reportUnwritten(unwritten);
    const verdicts = [...verdict(kind, doc).map((v) => v.message), ...failures];
    for (const line of verdicts) process.stderr.write(`iocptls: ${line}\n`);
    if (run.interrupted) process.exitCode = signalExitCode(run.interrupted as NodeJS.Signals);
    else if (verdicts.length > 0) process.exitCode = EXIT_FAILURE;
    else if (unwritten.length) process.exitCode = EXIT_USAGE;
    return doc;
  }

  /** The engine set up and the run's options from the flags, every flag checked (bad ones throw ConfigError). */
  protected async prepareBench(kind: BenchKind, targetArg: string | undefined, flags: BenchFlags, extra: Partial<BenchOptions>) {
    const { backend } = this.setupEngine(flags);
    // Files are checked whether or not they will be used (--ca without --verify is still a typo to report).
    for (const f of ['ca', 'cert', 'key'] as const) if (flags[f]) assertReadable(`--${f}`, flags[f]);
    // Output files too, before any load: a run's minutes must not end in "cannot write".
    for (const f of ['hgrm', 'html'] as const) if (flags[f] !== undefined) assertWritable(`--${f}`, flags[f]);
    const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
    const startAtMs = flags['start-at'] !== undefined ? parseStartAt(flags['start-at']) : undefined;
    let target: BenchOptions['target'];
    if (targetArg) {
      const t = parseTarget(targetArg, 443);
      const r = await resolveHost(t.host);
      target = { host: t.host, ip: r.ip, port: t.port };
    }
    if (flags.count && flags.warmup) throw new ConfigError('--count runs are counted from the first handshake: leave out --warmup');
    if (flags.requests && flags.warmup) throw new ConfigError('--requests runs are counted from the first request: leave out --warmup');
    const defaults = defaultWorkers(!target);
    const tls = tlsOptionsFromFlags(flags);
    const options: BenchOptions = {
      kind,
      target,
      workers: flags.workers ?? defaults.client,
      serverWorkers: flags['server-workers'] ?? defaults.server,
      backend,
      openssl: flags.openssl ?? process.env.IOCPTLS_OPENSSL,
      connections: flags.connections ?? 1,
      durationSec: flags.duration ?? 8,
      count: flags.count ?? 0,
      warmupSec: flags.warmup ?? (flags.count || flags.requests ? 0 : 1),
      rate: 0,
      timeoutMs: flags.timeout,
      tls: {
        ...tls,
        verify: flags.verify,
        ca: flags.ca,
        certs: flags.cert ? [{ cert: flags.cert, key: flags.key }] : undefined,
      },
      servername: flags.servername,
      resume: 'none',
      resumeRatio: 1,
      close: 'rst',
      direction: 'down',
      size: 16 * 1024,
      pingpongSize: 0,
      rounds: flags.rounds ?? 1,
      roundPauseSec: flags['round-pause'] ?? 1,
      ...extra,
    };
    // bench http offers what --http asks for by ALPN.
    if (options.http) options.tls.alpn = alpnFor(options.http.protocol);
    if (options.tls.verify && !target) throw new ConfigError('--verify needs a target: the embedded server has a self-signed certificate');
    const whole = { connections: options.connections, rate: options.rate, count: options.count };
    if (shard) {
      Object.assign(options, shardLoad(whole, shard));
      // A shard ramps its share of the connections over the same time.
      if (options.rampPerSec) options.rampPerSec = (options.rampPerSec * options.connections) / whole.connections;
    }
    options.sources = await parseBind(flags.bind, target?.ip ?? '127.0.0.1');
    options.startAtMs = startAtMs;
    const rendezvousAt = checkRendezvousFlags(flags as RendezvousFlags, shard);
    return { options, backend: backend as Backend, target, shard, whole, startAtMs, rendezvousAt };
  }

  /** The result document of one run (maxErrorRate: --max-error-rate as a fraction). */
  protected documentOf(kind: BenchKind, run: BenchRun, o: BenchOptions, backend: string, maxErrorRate: number): ResultDocument {
    return this.#document(kind, run, o, backend, maxErrorRate);
  }

  #document(kind: BenchKind, run: BenchRun, o: BenchOptions, backend: string, maxErrorRate: number, shard?: Shard & { whole: { connections: number; rate: number; count: number }; rendezvous?: string }): ResultDocument {
    return buildResult({
      kind,
      target: run.target,
      backend: backend as ResultDocument['backend'],
      params: {
        connections: o.connections,
        workers: Math.min(o.workers, o.connections),
        serverWorkers: run.target.embedded ? o.serverWorkers : undefined,
        duration: o.count ? undefined : o.durationSec,
        count: o.count || undefined,
        warmup: o.warmupSec,
        rate: o.rate || undefined,
        resume: kind === 'handshake' ? o.resume : undefined,
        resumeRatio: o.resume !== 'none' ? o.resumeRatio : undefined,
        close: kind === 'handshake' ? o.close : undefined,
        verify: o.tls.verify ?? false,
        tlsMin: o.tls.minVersion,
        tlsMax: o.tls.maxVersion,
        ciphers: o.tls.ciphers,
        ciphersuites: o.tls.ciphersuites,
        groups: o.tls.groups,
        alpn: o.tls.alpn?.join(','),
        servername: o.servername,
        direction: kind === 'throughput' ? o.direction : undefined,
        size: kind === 'throughput' ? o.size : kind === 'pingpong' ? o.pingpongSize : undefined,
        ramp: kind === 'connections' ? o.rampPerSec : undefined,
        messageSize: kind === 'connections' ? o.messageSize : undefined,
        interval: kind === 'connections' && o.messageSize ? o.intervalMs : undefined,
        maxErrorRate: maxErrorRate * 100,
        bind: o.sources?.join(','),
        rounds: run.rounds ? o.rounds : undefined,
        ...(o.http
          ? {
              http: o.http.protocol,
              method: o.http.method,
              paths: o.http.paths.join(' '),
              pipeline: o.http.pipeline,
              streams: o.http.streams,
              requestsPerConnection: o.http.requestsPerConnection || undefined,
              resume: o.resume,
              headers: o.http.headers.length ? o.http.headers.map(([k, v]) => `${k}: ${v}`).join('\n') : undefined,
              bodyBytes: o.http.body?.length || undefined,
              expectStatus: o.http.expectStatus.length ? o.http.expectStatus.join(',') : undefined,
              responseSize: run.target.embedded ? o.embeddedBodySize : undefined,
            }
          : {}),
        roundPause: run.rounds ? o.roundPauseSec : undefined,
      },
      start: run.start,
      finish: run.finish,
      totals: run.totals,
      intervals: run.intervals,
      durationS: run.durationSec,
      histograms: run.histograms,
      negotiated: run.negotiated
        ? { protocol: run.negotiated.protocol, cipher: run.negotiated.cipher, group: run.negotiated.group, alpn: run.negotiated.alpn }
        : undefined,
      perConnectionGbps: run.perConnectionGbps,
      requestedRate: o.rate || undefined,
      openssl: opensslInfo(),
      accounting: run.accounting,
      warmup: { durationS: run.warmup.durationSec, totals: run.warmup.totals },
      afterWindow: run.after,
      client: run.client,
      server: run.server
        ? {
            handshakes: run.server.totals.handshakes,
            resumed: run.server.totals.resumed,
            bytesIn: run.server.totals.bytesIn,
            bytesOut: run.server.totals.bytesOut,
            errors: totalErrors(run.server.totals),
            ...(kind === 'http' ? { requests: run.server.totals.roundTrips } : {}),
          }
        : undefined,
      interrupted: run.interrupted,
      endedEarly: run.endedEarly,
      connectionLimit: run.connectionLimit,
      connections: run.connections,
      sends: run.sends,
      maxErrorRate,
      shard: shard && {
        index: shard.index,
        count: shard.count,
        host: os.hostname(),
        node: process.env.NODE_NAME?.trim() || undefined,
        rendezvous: shard.rendezvous,
        whole: { connections: shard.whole.connections, rate: shard.whole.rate || undefined, count: shard.whole.count || undefined },
      },
      startAt: run.startAt && startAtRecord(run.startAt),
      rounds: run.rounds?.map((r) => ({
        index: r.index,
        start: r.start,
        durationS: r.durationSec,
        totals: r.totals,
        intervals: r.intervals,
        histograms: r.histograms,
        interrupted: r.interrupted,
      })),
    });
  }
}

/** The merged document's primary latency histogram (handshake, or round trip for ping-pong). */
function mergedPrimary(doc: ResultDocument): Histogram | undefined {
  const l = doc.kind === 'pingpong' ? doc.latency.rtt : doc.kind === 'http' ? doc.latency.request : (doc.latency.handshake ?? doc.latency.rtt);
  return l?.encoded ? decodeHistogram(l.encoded) : undefined;
}

/** Resolves at the first SIGINT/SIGTERM/SIGHUP (shard 0 then stops waiting for the other shards' results). */
function stopSignal(): { signalled: Promise<NodeJS.Signals>; release: () => void } {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let on: (s: NodeJS.Signals) => void = () => undefined;
  const release = () => {
    for (const x of signals) process.off(x, on);
  };
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    on = (s) => {
      release();
      process.stderr.write(`iocptls: ${s}: no longer waiting for the other shards' results\n`);
      resolve(s);
    };
    for (const x of signals) process.on(x, on);
  });
  return { signalled, release };
}

function startAtRecord(s: StartRecord): StartAt {
  const ms = (x: number) => Math.round(x * 1000) / 1000;
  return {
    intended: new Date(s.intendedMs).toISOString(),
    intendedMs: s.intendedMs,
    actualMs: s.actualMs !== undefined ? ms(s.actualMs) : undefined,
    lateMs: s.actualMs !== undefined ? ms(s.actualMs - s.intendedMs) : undefined,
    workerSpreadMs: s.workerSpreadMs !== undefined ? ms(s.workerSpreadMs) : undefined,
  };
}

/**
 * Why attempts neither succeeded nor failed: cut off when the run ended, still waiting. Against a
 * server that accepts and never answers, with --timeout longer than the run, that is all there is
 * to say (no error was seen), and it must be said rather than an empty error table.
 */
function cutOffCause(doc: ResultDocument): string {
  const a = doc.accounting;
  if (!a || a.cutOff === 0 || !a.cutOffWaiting) return '';
  const w = a.cutOffWaiting;
  const longest = a.cutOffLongestMs !== undefined ? ` for up to ${(a.cutOffLongestMs / 1000).toFixed(1)} s` : '';
  const waiting = [
    w.handshake > 0 && `${w.handshake} connected and waiting for the server's handshake reply${longest} (the server accepted the connection but did not complete the handshake)`,
    w.connect > 0 && `${w.connect} waiting for the TCP connect`,
  ].filter(Boolean);
  const unit = a.unit === 'handshake' ? 'attempt' : 'connection';
  return `; ${a.cutOff} ${unit}${a.cutOff > 1 ? 's were' : ' was'} cut off when the run ended, before --timeout: ${waiting.join(', ')}`;
}

export function parsePercent(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new ConfigError(`${flag} must be a percentage from 0 to 100, not '${v}'`);
  return n / 100;
}

/**
 * Why a finished run failed, if it did: a CI job must not pass on a run that measured nothing or
 * whose attempts mostly failed (a dying server), even though the report is printed.
 * Long-lived connections (throughput, ping-pong) may have handshaken during the warmup: there,
 * data moved is what shows the run measured something.
 */
export function verdict(kind: BenchKind, doc: ResultDocument): { message: string }[] {
  const out: { message: string }[] = [];
  const top = Object.entries(doc.errors).sort((x, y) => y[1] - x[1])[0];
  const mostly = top ? ` (${doc.totals.errors} errors, mostly '${top[0]}')` : '';
  const byHandshakes = kind === 'handshake' || kind === 'connections';
  const measured = kind === 'http' ? doc.totals.roundTrips : byHandshakes ? doc.totals.handshakes : doc.totals.bytesIn + doc.totals.bytesOut;
  if (measured === 0) {
    const what = kind === 'http' ? 'no response came back' : kind === 'handshake' ? 'no handshake succeeded' : kind === 'connections' ? 'no connection was established' : 'no data moved';
    out.push({ message: `${what}${mostly}${cutOffCause(doc)}` });
  } else if (doc.errorRate && doc.errorRate.ratio > doc.errorRate.max) {
    const what = kind === 'handshake' ? 'attempts' : kind === 'http' ? 'requests' : 'connections';
    out.push({ message: `${(doc.errorRate.ratio * 100).toFixed(1)}% of ${what} failed (more than --max-error-rate ${+(doc.errorRate.max * 100).toFixed(3)}%)${mostly}` });
  } else if (kind !== 'connections' && kind !== 'http') {
    // A capacity run's attempts waiting at the end are the limit it was sent to find, which its report names.
    const silent = serverWentSilent(doc);
    if (silent) out.push({ message: silent });
  }
  return out;
}

/** The least wait for a cut-off attempt that counts as a server gone silent, whatever the handshakes took. */
export const SILENT_MIN_MS = 3000;
/** ...and how many times the run's handshake p99 it must be, so that a slow (not silent) server never trips it. */
export const SILENT_P99_FACTOR = 10;

/**
 * A server that answered and then stopped answering for less than --timeout before the end leaves
 * no error at all: its last attempts are merely cut off when the run ends. A normal run's cut-offs
 * are the attempts in flight at the last instant, so the oldest has waited about one handshake
 * (a few ms; under load or queueing, up to the p99). An attempt that waited seconds, and ten times
 * longer than 99% of the run's handshakes took, was not in flight but ignored: the run did not
 * measure what it claims for its last seconds, and must not pass. The 3 s floor keeps a run with
 * few or very fast handshakes (a p99 of 100 µs) from failing on one scheduling hiccup of the
 * client's own; the factor keeps a slow but answering server (p99 of 1 s) from failing at all.
 */
function serverWentSilent(doc: ResultDocument): string | undefined {
  const a = doc.accounting;
  if (!a || a.cutOff === 0 || a.cutOffLongestMs === undefined) return undefined;
  const p99Us = doc.latency.handshake?.p99;
  const limitMs = Math.max(SILENT_MIN_MS, p99Us !== undefined ? (SILENT_P99_FACTOR * p99Us) / 1000 : 0);
  if (a.cutOffLongestMs < limitMs) return undefined;
  const w = a.cutOffWaiting ?? { connect: 0, handshake: 0 };
  const plural = (n: number) => (n === 1 ? ' was' : 's were');
  const unit = a.unit === 'handshake' ? 'attempt' : 'connection';
  const waiting =
    w.handshake > 0 && w.connect > 0
      ? `${a.cutOff} ${unit}${plural(a.cutOff)} still waiting (${w.handshake} for the server's handshake reply, ${w.connect} for the TCP connect)`
      : w.connect > 0
        ? `${w.connect} ${unit}${plural(w.connect)} still waiting for the TCP connect`
        : `${a.cutOff} ${unit}${plural(a.cutOff)} still waiting for the server's handshake reply`;
  return `the server stopped answering: ${waiting} when the run ended, the oldest for ${(a.cutOffLongestMs / 1000).toFixed(1)} s (more than ${(limitMs / 1000).toFixed(1)} s, ${SILENT_P99_FACTOR}x the handshake p99 or ${SILENT_MIN_MS / 1000} s)`;
}
