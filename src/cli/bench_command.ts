// What the bench commands share: flags, turning them into a run, and showing the result:
// tables and plot on stdout (or the JSON document with --json), progress on stderr when it is a TTY.
import { Args, Flags } from '@oclif/core';
import fs from 'node:fs';
import { EXIT_FAILURE, IocptlsCommand } from './base';
import { parseTarget, resolveHost } from './target';
import { tlsFlags, tlsOptionsFromFlags } from './tls_flags';
import { BenchRun, defaultWorkers, runBench, BenchOptions } from '../engine/bench';
import type { Backend } from '../engine/port/types';
import { ConfigError } from '../engine/errors';
import { opensslInfo } from '../engine/openssl_info';
import type { BenchKind } from '../engine/workers/bench_worker';
import { toHgrm } from '../report/hgrm';
import { plotLatency } from '../report/plot';
import { buildResult, ResultDocument } from '../report/result';
import { renderResult } from '../report/table';
import { renderProgress } from '../report/progress';

export const benchArgs = {
  target: Args.string({ description: 'HOST:PORT to benchmark [default: an embedded server on 127.0.0.1]' }),
};

export const commonBenchFlags = {
  connections: Flags.integer({ char: 'c', description: 'concurrent connections', min: 1, max: 100000 }),
  workers: Flags.integer({ char: 'w', description: 'client worker threads [default: cores, or half of them with the embedded server]', min: 1, max: 256 }),
  duration: Flags.integer({ char: 'd', description: 'measured seconds (after the warmup)', min: 1 }),
  warmup: Flags.integer({ description: 'seconds of load before measuring starts', min: 0 }),
  ...tlsFlags,
  servername: Flags.string({ description: 'SNI to send (and name to verify with --verify)' }),
  cert: Flags.string({ description: 'client certificate (PEM)', dependsOn: ['key'] }),
  key: Flags.string({ description: 'private key of --cert (PEM)', dependsOn: ['cert'] }),
  verify: Flags.boolean({ description: 'verify the server certificate (off by default for load; the report says which)', default: false }),
  ca: Flags.string({ description: 'CA file for --verify' }),
  timeout: Flags.integer({ description: 'connect + handshake timeout per connection, ms', default: 10000, min: 1 }),
  'server-workers': Flags.integer({ description: 'worker threads of the embedded server [default: half the cores]', min: 1, max: 256 }),
  hgrm: Flags.string({ description: 'write the latency histogram as HdrHistogram percentile text to this file' }),
  plot: Flags.boolean({ description: 'draw the latency distribution', default: true, allowNo: true }),
};

export type BenchFlags = Record<string, any>;

export abstract class BenchCommand extends IocptlsCommand {
  static enableJsonFlag = true;

  protected async runBenchFrom(kind: BenchKind, targetArg: string | undefined, flags: BenchFlags, extra: Partial<BenchOptions>): Promise<ResultDocument> {
    const { options, backend, target } = await this.prepareBench(kind, targetArg, flags, extra);
    const total = options.warmupSec + options.durationSec;
    const progress = process.stderr.isTTY && !this.jsonEnabled();
    if (progress) {
      process.stderr.write(`iocptls bench ${kind}: ${target ? `${target.host}:${target.port}` : 'embedded server'}, ${options.connections} connections, ${options.count ? `${options.count} handshakes` : `${options.warmupSec}+${options.durationSec} s`}\n`);
      options.onProgress = (s, elapsed) => process.stderr.write('\r' + renderProgress(kind, s, elapsed, options.count ? 0 : options.durationSec) + '\x1b[K');
    }
    const run = await runBench(options);
    if (progress) process.stderr.write('\r\x1b[K');
    const doc = this.documentOf(kind, run, options, backend);
    if (flags.hgrm) {
      const h = kind === 'pingpong' ? run.histograms.rtt! : run.histograms.handshake;
      // HdrHistogram's text format is conventionally in milliseconds: our values are µs.
      fs.writeFileSync(flags.hgrm, toHgrm(h, 1000));
    }
    if (!this.jsonEnabled()) {
      const color = process.stdout.isTTY === true;
      this.log(renderResult(doc, { color }));
      if (flags.plot) {
        const h = kind === 'pingpong' ? run.histograms.rtt! : run.histograms.handshake;
        if (h.totalCount > 0) this.log(plotLatency(h, { title: kind === 'pingpong' ? 'Round-trip latency' : 'Handshake latency' }));
      }
      if (run.server) {
        this.log(
          `Embedded server counted ${run.server.totals.handshakes} handshakes (${run.server.totals.resumed} resumed), ` +
            `${run.server.totals.bytesIn} bytes in, ${run.server.totals.bytesOut} bytes out (warmup included).`
        );
      }
    }
    // Some failed attempts are results (the error table counts them by reason, exit 0); a run where
    // not one handshake succeeded measured nothing, and a CI job must not pass on it. The report
    // (or the JSON document) is still printed, and one line on stderr says why the exit is 1.
    // Long-lived connections (throughput, ping-pong) may have handshaken during the warmup: there,
    // data moved is what shows the run measured something.
    const measured = kind === 'handshake' ? doc.totals.handshakes : doc.totals.bytesIn + doc.totals.bytesOut;
    if (measured === 0) {
      const top = Object.entries(doc.errors).sort((x, y) => y[1] - x[1])[0];
      process.stderr.write(`iocptls: ${kind === 'handshake' ? 'no handshake succeeded' : 'no data moved'}${top ? ` (${doc.totals.errors} errors, mostly '${top[0]}')` : ''}\n`);
      process.exitCode = EXIT_FAILURE;
    }
    return doc;
  }

  /** The engine set up and the run's options from the flags, every flag checked (bad ones throw ConfigError). */
  protected async prepareBench(
    kind: BenchKind,
    targetArg: string | undefined,
    flags: BenchFlags,
    extra: Partial<BenchOptions>
  ): Promise<{ options: BenchOptions; backend: Backend; target: BenchOptions['target'] }> {
    const { backend } = this.setupEngine(flags);
    let target: BenchOptions['target'];
    if (targetArg) {
      const t = parseTarget(targetArg, 443);
      const r = await resolveHost(t.host);
      target = { host: t.host, ip: r.ip, port: t.port };
    }
    if (flags.count && flags.warmup) throw new ConfigError('--count runs are counted from the first handshake: leave out --warmup');
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
      warmupSec: flags.warmup ?? (flags.count ? 0 : 1),
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
      ...extra,
    };
    if (options.tls.verify && !target) throw new ConfigError('--verify needs a target: the embedded server has a self-signed certificate');
    return { options, backend, target };
  }

  /** The result document of one run. */
  protected documentOf(kind: BenchKind, run: BenchRun, o: BenchOptions, backend: string): ResultDocument {
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
    });
  }
}
