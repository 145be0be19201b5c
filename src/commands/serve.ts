import { Flags, Interfaces } from '@oclif/core';
import os from 'node:os';
import { IocptlsCommand } from '../cli/base';
import { durationFlag } from '../cli/duration_flag';
import { openKeylog } from '../cli/keylog';
import { resolveBindHost } from '../cli/target';
import { tlsFlags, tlsOptionsFromFlags } from '../cli/tls_flags';
import { DEFAULT_HEADER_TIMEOUT_MS } from '../engine/apps/http';
import { defaultBodySize, SERVER_MODES, ServerMode } from '../engine/apps/server_app';
import { ConfigError } from '../engine/errors';
import { opensslInfo } from '../engine/openssl_info';
import { KEY_TYPES, KeyType, keyTypeUnavailable } from '../engine/pki';
import type { Backend } from '../engine/setup';
import { ServerTickInfo, startServer } from '../engine/server';
import type { IntervalSample } from '../engine/stats/intervals';
import { renderServeTotals, renderStatsLine, ServeDocument } from '../report/serve';

export default class Serve extends IocptlsCommand {
  static summary = 'Run a TLS server (echo, sink, source, http, handshake) on worker threads.';
  static description = [
    'Binds 127.0.0.1:4433 unless told otherwise. Without --cert/--key it generates an ephemeral self-signed ' +
      'certificate for localhost, 127.0.0.1 and ::1 and prints its SHA-256 fingerprint. SIGINT, SIGTERM or SIGHUP ' +
      'stops accepting, closes connections with close_notify, prints the totals and exits 0.',
    'The workers are one server: TLS 1.2 session IDs resume on any worker (one session cache in shared memory), ' +
      'as tickets do (one set of ticket keys), and --max-connections counts over all workers.',
    '--mode http speaks HTTP/2 and HTTP/1.1: it offers ALPN h2, http/1.1 and http/1.0 by default (in that order of ' +
      'preference) and answers each connection in the protocol its handshake chose; a client without ALPN gets ' +
      'HTTP/1.x. --alpn http/1.1 makes it HTTP/1.x only. Any path answers 200 with a --body-size body.',
    'See docs/commands/serve.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --mode http --cert server.pem --key server.key --cert rsa.pem --key rsa.key',
    '<%= config.bin %> serve --host 0.0.0.0 --port 8443 --workers 4 --stats',
  ];
  static enableJsonFlag = true;
  static flags = {
    host: Flags.string({ description: 'address (or name, resolved once) to bind (use 0.0.0.0 or :: to accept from other hosts)', default: '127.0.0.1' }),
    port: Flags.integer({ char: 'p', description: 'port to bind (0: any free port)', default: 4433, min: 0, max: 65535 }),
    workers: Flags.integer({ char: 'w', description: 'worker threads [default: number of cores]', min: 1, max: 256 }),
    mode: Flags.option({ description: 'what to do with each connection', options: SERVER_MODES, default: 'echo' as const })(),
    'body-size': Flags.integer({
      description: 'http: response body bytes, HTTP/1.1 and HTTP/2 alike [default: 2]; source: bytes per write [default: 16384, one full TLS record]',
      min: 0,
      max: 64 * 1024 * 1024,
    }),
    cert: Flags.string({ description: 'certificate chain (PEM); repeat with --key for several (e.g. RSA and ECDSA)', multiple: true }),
    key: Flags.string({ description: 'private key (PEM) of the --cert at the same position', multiple: true }),
    'key-type': Flags.option({ description: 'ephemeral certificate key type', options: KEY_TYPES, default: 'ecdsa-p256' as const })(),
    ...tlsFlags,
    tickets: Flags.boolean({ description: 'issue session tickets', default: true, allowNo: true }),
    'session-cache': Flags.boolean({ description: 'server-side session cache (session IDs)', default: true, allowNo: true }),
    'client-ca': Flags.string({ description: 'CA file for verifying client certificates' }),
    'client-auth': Flags.option({ description: 'ask for client certificates', options: ['none', 'request', 'require'] as const, default: 'none' as const })(),
    keylog: Flags.string({ description: 'append TLS secrets to this file (NSS key log format) [env: SSLKEYLOGFILE]' }),
    stats: Flags.boolean({ description: 'print a stats line every second (to stderr)', default: false }),
    'max-connections': Flags.integer({ description: 'refuse connections beyond this many open, over all workers (0: no limit)', default: 0, min: 0 }),
    'handshake-timeout': Flags.integer({ description: 'ms a client gets to complete the handshake (0: none)', default: 10000, min: 0 }),
    'idle-timeout': Flags.integer({ description: 'ms of silence before a connection is closed (0: none)', default: 0, min: 0 }),
    'header-timeout': Flags.integer({
      description:
        'http: ms a client gets to send a whole request head, from the handshake or its previous request (HTTP/1.x: 408, then close; HTTP/2: GOAWAY, then close, also when its streams are stalled that long; 0: none)',
      default: DEFAULT_HEADER_TIMEOUT_MS,
      min: 0,
    }),
    duration: durationFlag({ char: 'd', description: 'stop by itself after this long: seconds, or 500ms, 2m... (0: run until signalled)', default: 0, min: 0 }),
  };

  async run(): Promise<ServeDocument> {
    const { flags } = await this.parse(Serve);
    const { backend } = this.setupEngine(flags);
    const certs = flags.cert ?? [];
    const keys = flags.key ?? [];
    if (certs.length !== keys.length) throw new ConfigError(`${certs.length} --cert but ${keys.length} --key: give them in pairs`);
    const keyTypeProblem = certs.length === 0 ? keyTypeUnavailable(flags['key-type'] as KeyType) : undefined;
    if (keyTypeProblem) throw new ConfigError(keyTypeProblem);
    if (flags['client-auth'] !== 'none' && !flags['client-ca']) throw new ConfigError(`--client-auth ${flags['client-auth']} needs --client-ca FILE`);
    checkAlpnForMode(flags.mode as ServerMode, flags.alpn);
    const host = await resolveBindHost(flags.host);
    const workers = flags.workers ?? os.availableParallelism();
    const started = performance.now();
    // Signals are caught from before the workers start, so one that arrives during startup still
    // means a clean stop with totals, not death by the default disposition.
    const stop = stopSignal();
    let keylog: ReturnType<typeof openKeylog>;
    try {
      // Opened here, once: a path that cannot be opened is a bad flag (exit 2), as for connect.
      keylog = openKeylog(flags.keylog);
      return await this.#serve({ ...flags, host }, backend, workers, started, stop, keylog?.fd);
    } finally {
      stop.dispose();
      keylog?.close();
    }
  }

  async #serve(
    flags: Interfaces.InferredFlags<typeof Serve.flags & typeof IocptlsCommand.baseFlags>,
    backend: Backend,
    workers: number,
    started: number,
    stop: StopSignal,
    keylogFd: number | undefined
  ): Promise<ServeDocument> {
    const certs = flags.cert ?? [];
    const keys = flags.key ?? [];
    const mode = flags.mode as ServerMode;
    const tls = tlsOptionsFromFlags(flags);
    // http speaks HTTP/2 and HTTP/1.x, h2 preferred: a client that offers neither gets alert 120.
    if (mode === 'http' && !tls.alpn) tls.alpn = ['h2', 'http/1.1', 'http/1.0'];
    const server = await startServer({
      host: flags.host,
      port: flags.port,
      workers,
      backend,
      openssl: flags.openssl ?? process.env.IOCPTLS_OPENSSL,
      mode,
      bodySize: flags['body-size'] ?? defaultBodySize(mode),
      tls: {
        ...tls,
        tickets: flags.tickets,
        sessionCache: flags['session-cache'],
        clientAuth: flags['client-auth'],
        clientCa: flags['client-ca'],
      },
      certs: certs.map((cert, i) => ({ cert, key: keys[i] })),
      ephemeralKeyType: flags['key-type'] as KeyType,
      keylogFd,
      maxConnections: flags['max-connections'],
      handshakeTimeoutMs: flags['handshake-timeout'],
      idleTimeoutMs: flags['idle-timeout'],
      headerTimeoutMs: flags['header-timeout'],
    });
    const ssl = opensslInfo();
    const where = server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
    const cert = server.ephemeral
      ? `ephemeral ${server.ephemeral.keyType} certificate for ${server.ephemeral.sans.join(', ')}, sha256 ${server.ephemeral.fingerprint256}`
      : `certificate ${certs.join(', ')}`;
    // The listening line goes to stderr so stdout stays clean for --json.
    process.stderr.write(
      `iocptls serve: listening on ${where} (mode ${flags.mode}, ${server.workers} worker${server.workers > 1 ? 's' : ''}, ${backend}, ${ssl.version}); ${cert}\n`
    );
    if (flags.stats) server.on('tick', (s: IntervalSample, info: ServerTickInfo) => process.stderr.write(renderStatsLine(s, info) + '\n'));

    if (flags.duration > 0) setTimeout(() => stop.request('duration'), flags.duration * 1000).unref();
    const stoppedBy = await stop.requested;
    const t = await server.stop();
    const doc: ServeDocument = {
      schema: 'iocptls.serve/2',
      listen: { host: server.host, port: server.port },
      mode: flags.mode,
      workers: server.workers,
      backend,
      openssl: { version: ssl.version, source: ssl.path ?? 'node' },
      durationSec: (performance.now() - started) / 1000,
      stoppedBy,
      totals: t.totals,
      connections: { accepted: t.accepted, rejected: t.rejected, acceptErrors: t.acceptErrors },
      perWorker: t.perWorker,
      leftover: t.leftover,
      sessionCache: t.sessionCache,
      memory: t.memory,
    };
    if (!this.jsonEnabled()) this.log(renderServeTotals(doc));
    return doc;
  }
}

/** HTTP/2 over cleartext and HTTP/3 identifiers: --mode http cannot speak them over TLS, so it must not offer them. */
const NOT_SPOKEN = /^(h2c|h3(-\d+)?)$/;

function checkAlpnForMode(mode: ServerMode, alpn: string | undefined): void {
  if (mode !== 'http' || !alpn) return;
  const bad = alpn
    .split(',')
    .map((p) => p.trim())
    .filter((p) => NOT_SPOKEN.test(p));
  if (bad.length) {
    throw new ConfigError(
      `--alpn ${bad.join(',')}: --mode http speaks h2 (HTTP/2 over TLS) and HTTP/1.x only, so it must not offer ${bad.join(' or ')} (leave --alpn out for h2 and http/1.1)`
    );
  }
}

interface StopSignal {
  /** Resolves with what asked for the stop: the signal's name, or 'duration'. */
  requested: Promise<string>;
  request: (why: string) => void;
  dispose: () => void;
}

// SIGHUP too: a closed terminal (or an ssh session that ended) should stop serve as Ctrl-C does,
// with totals and exit 0, not kill it without a word (the default disposition, exit 129).
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** SIGINT/SIGTERM/SIGHUP request a graceful stop; a second signal exits at once (130) without waiting for connections. */
function stopSignal(): StopSignal {
  let request: (why: string) => void = () => {};
  const requested = new Promise<string>((r) => (request = r));
  let first = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // One Ctrl-C can arrive twice within milliseconds (seen under Wine: the console event and the
    // forwarded signal); a person's second Ctrl-C comes later than that.
    if (first && performance.now() - first < 250) return;
    if (first) {
      process.stderr.write(`iocptls serve: ${sig} again, exiting without waiting for connections\n`);
      process.exit(130);
    }
    first = performance.now();
    // After a hang-up the terminal may be gone: writing the totals there must not turn a clean
    // stop into a crash (EIO/EPIPE); the exit code still tells.
    if (sig === 'SIGHUP') for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
    request(sig);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  return {
    requested,
    request: (why) => request(why),
    dispose: () => {
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
    },
  };
}
