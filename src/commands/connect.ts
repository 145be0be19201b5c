import { Args, Flags } from '@oclif/core';
import fs from 'node:fs';
import net from 'node:net';
import { EXIT_FAILURE, IocptlsCommand } from '../cli/base';
import { bindFlag, parseBind } from '../cli/bind_flag';
import { openKeylog } from '../cli/keylog';
import { parseTarget, resolveHost } from '../cli/target';
import { tlsFlags, tlsOptionsFromFlags } from '../cli/tls_flags';
import type { ConnectClient } from '../engine/connect';
import { buildConnectDocument, ConnectDocument, renderConnect } from '../report/connect';
import { toolInfo } from '../report/facts';

export default class Connect extends IocptlsCommand {
  static summary = 'Connect to a TLS server: what it negotiates, the timings, the certificate chain.';
  static description = [
    'Verifies the certificate and hostname unless --insecure (which still reports the result). Trust comes from ' +
      '--ca FILE, else the system CA bundle, else Node.js\'s built-in roots; the report says which.',
    'With --send, or with data piped on stdin, sends the data after the handshake and writes the reply to stdout, ' +
      'like openssl s_client (with --json, stdout holds only the JSON document and the reply goes to stderr). ' +
      '--reconnect N reconnects N times offering the session, and reports how many resumed.',
    'See docs/commands/connect.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> connect 127.0.0.1:4433 --ca ca.pem --servername localhost',
    '<%= config.bin %> connect example.com --alpn h2,http/1.1 --json',
    'printf "GET / HTTP/1.0\\r\\n\\r\\n" | <%= config.bin %> connect 127.0.0.1:4433 --insecure',
  ];
  static enableJsonFlag = true;
  static args = {
    target: Args.string({ description: 'HOST[:PORT] (default port 443)', required: true }),
  };
  static flags = {
    ...tlsFlags,
    servername: Flags.string({ description: 'SNI to send and name to verify [default: the host, unless it is an IP address]' }),
    ca: Flags.string({ description: 'trust only the CA certificates in this PEM file' }),
    insecure: Flags.boolean({ char: 'k', description: 'do not fail on certificate or hostname errors (still reported)', default: false }),
    cert: Flags.string({ description: 'client certificate, with its chain (PEM)', dependsOn: ['key'] }),
    key: Flags.string({ description: 'private key of --cert (PEM)', dependsOn: ['cert'] }),
    reconnect: Flags.integer({ description: 'reconnect N times resuming the session, and report how many resumed', default: 0, min: 0, max: 1000 }),
    send: Flags.string({ description: 'data to send after the handshake (\\r and \\n escapes understood); the reply goes to stdout' }),
    keylog: Flags.string({ description: 'append TLS secrets to this file (NSS key log format) [env: SSLKEYLOGFILE]' }),
    timeout: Flags.integer({ description: 'connect + handshake timeout per connection, ms', default: 10000, min: 1 }),
    quiet: Flags.integer({ description: 'after sending, close once the peer has been silent this long, ms', default: 1000, min: 0 }),
    ...bindFlag,
  };

  async run(): Promise<ConnectDocument> {
    const { args, flags } = await this.parse(Connect);
    const { backend } = this.setupEngine(flags);
    // The engine loads only for a command line that parsed (see setupEngine).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ConnectClient } = require('../engine/connect') as typeof import('../engine/connect');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { opensslInfo } = require('../engine/openssl_info') as typeof import('../engine/openssl_info');
    // Everything the command line and its files can get wrong is checked before the network is
    // touched, so a bad flag is always exit 2, whatever the target does.
    const target = parseTarget(args.target, 443);
    const servername = flags.servername ?? (net.isIP(target.host) ? undefined : target.host);
    const verifyHost = flags.servername ?? target.host;
    const keylog = openKeylog(flags.keylog);
    let client: ConnectClient;
    try {
      client = new ConnectClient({
        backend,
        tls: {
          ...tlsOptionsFromFlags(flags),
          verify: !flags.insecure,
          reportVerify: true,
          ca: flags.ca,
          certs: flags.cert ? [{ cert: flags.cert, key: flags.key! }] : undefined,
          keylog: keylog?.write,
        },
      });
    } catch (e) {
      keylog?.close();
      throw e;
    }
    let resolved: Awaited<ReturnType<typeof resolveHost>>;
    let sources: string[] | undefined;
    try {
      resolved = await resolveHost(target.host);
      sources = await parseBind(flags.bind, resolved.ip);
    } catch (e) {
      client.close();
      keylog?.close();
      throw e;
    }
    const exchange = this.#exchange(flags.send);
    try {
      const probe = await client.probe({ ip: resolved.ip, port: target.port }, {
        servername,
        verifyHost,
        timeoutMs: flags.timeout,
        send: exchange.send,
        input: exchange.input,
        // stdout is the JSON document's under --json: one parseable document, so the reply moves to stderr.
        onOutput: (d) => (this.jsonEnabled() ? process.stderr : process.stdout).write(d),
        quietMs: flags.quiet,
        ticketWaitMs: 250,
        reconnect: flags.reconnect,
        sources,
      });
      const doc = buildConnectDocument({
        tool: toolInfo(),
        openssl: opensslInfo(),
        backend: client.backend,
        target: { host: target.host, port: target.port, ip: resolved.ip },
        dnsMs: resolved.ms,
        sniSent: servername,
        probe,
        verifyEnforced: !flags.insecure,
        verifyHost,
        trust: client.trust,
        exchanged: exchange.send !== undefined || exchange.input !== undefined,
      });
      // With data on stdout, the report goes to stderr so the two don't mix.
      if (!this.jsonEnabled()) {
        const text = renderConnect(doc, exchange.active ? process.stderr.isTTY : process.stdout.isTTY);
        if (exchange.active) process.stderr.write(text + '\n');
        else this.log(text);
      }
      // Failed reconnects are in the report, and they make the run fail (for CI), with one line saying why.
      const failed = doc.reconnect?.failed ?? 0;
      if (failed) {
        process.stderr.write(`iocptls: ${failed} of ${doc.reconnect!.attempts} reconnects failed: ${doc.reconnect!.errors![0]}\n`);
        process.exitCode = EXIT_FAILURE;
      }
      return doc;
    } finally {
      client.close();
      keylog?.close();
      if (exchange.input) process.stdin.destroy();
    }
  }

  /** --send wins; otherwise stdin when it is piped (not a terminal). */
  #exchange(send?: string): { send?: Buffer; input?: AsyncIterable<Buffer>; active: boolean } {
    if (send !== undefined) return { send: Buffer.from(unescape(send)), active: true };
    if (process.stdin.isTTY) return { active: false };
    let isPipe = false;
    try {
      const st = fs.fstatSync(0);
      isPipe = st.isFIFO() || st.isFile() || st.isSocket();
      if (st.isFile() && st.size === 0) isPipe = false;
    } catch {
      isPipe = false;
    }
    return isPipe ? { input: process.stdin as AsyncIterable<Buffer>, active: true } : { active: false };
  }
}

function unescape(s: string): string {
  return s.replace(/\\(r|n|t|\\)/g, (_m, c: string) => ({ r: '\r', n: '\n', t: '\t', '\\': '\\' })[c]!);
}

