// Every way `iocptls connect` can fail: one line on stderr naming the cause, exit 1 when the
// target or TLS failed and 2 when the command line or a file was wrong, no stack trace unless
// --debug, and with --json a parseable {error: {...}} document on stdout.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliResult, cliQueue, dump, fixture, runCli } from './helpers/cli';
import { closedPort } from './helpers/free_port';
import { startNodeTlsServer, startSilentServer } from './helpers/node_tls';
import { SServer, startSServer, stopAllSServers } from './helpers/s_server';

const ONE_LINE = /^iocptls: [^\n]+\n$/;
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

function assertOneLine(r: CliResult, exit: number, cause: RegExp): void {
  assert.equal(r.code, exit, dump(r));
  assert.match(r.stderr, ONE_LINE, dump(r));
  assert.match(r.stderr, cause, dump(r));
  assert.doesNotMatch(r.stderr, STACK, dump(r));
  assert.equal(r.out, '', dump(r));
}

function assertJsonError(r: CliResult, exit: number, cause: RegExp): any {
  assert.equal(r.code, exit, dump(r));
  let doc: any;
  assert.doesNotThrow(() => (doc = JSON.parse(r.out)), dump(r));
  assert.equal(typeof doc.error, 'object', dump(r));
  assert.match(doc.error.message, cause);
  assert.deepEqual(Object.keys(doc).sort(), ['error']);
  assert.match(r.stderr, ONE_LINE, dump(r)); // the human line is still there, on stderr
  return doc;
}

interface Case {
  name: string;
  /** Arguments after `connect`, given the servers. */
  args: () => string[];
  exit: 1 | 2;
  cause: RegExp;
  /** Expected `reason` in the --json error (machine-readable kind). */
  reason?: string | RegExp;
}

describe('connect: errors', function () {
  this.slow(3000);
  const s: Record<string, SServer> = {};
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let closed: number;
  const L = (name: string) => ({ cert: fixture(`${name}.pem`), key: fixture(`${name}.key`), args: ['-www'] });
  // The commands of the case tables are independent of each other: they are queued as soon as the
  // servers are up, four at a time, and each test awaits and checks its own (one after another,
  // their ~84 CLI starts took ~140 s).
  const queue = cliQueue(4);
  const planned: (() => string[])[] = [];
  const started: Promise<CliResult>[] = [];
  const plan = (args: () => string[]): (() => Promise<CliResult>) => {
    const i = planned.push(args) - 1;
    return () => started[i];
  };

  before(async () => {
    const [tls13, tls12cbc, aes128, expired, selfsigned, wronghost, good] = await Promise.all([
      startSServer({ args: ['-www', '-tls1_3'] }),
      startSServer({ args: ['-www', '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA'] }),
      startSServer({ args: ['-www', '-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256'] }),
      startSServer(L('expired')),
      startSServer(L('selfsigned')),
      startSServer(L('wronghost')),
      startSServer({ args: ['-www'] }),
    ]);
    Object.assign(s, { tls13, tls12cbc, aes128, expired, selfsigned, wronghost, good });
    silent = await startSilentServer();
    closed = await closedPort();
    for (const args of planned) started.push(queue(['connect', ...args()]));
  });
  after(async () => {
    await stopAllSServers();
    await silent?.close();
  });

  const at = (name: string) => `127.0.0.1:${s[name].port}`;
  const CA = ['--ca', fixture('ca.pem')];
  const LOCALHOST = [...CA, '--servername', 'localhost'];

  const network: Case[] = [
    { name: 'refused (closed port)', args: () => [`127.0.0.1:${closed}`], exit: 1, cause: /connection refused/, reason: 'refused' },
    {
      name: 'timed out (server accepts and never answers)',
      args: () => [`127.0.0.1:${silent.port}`, '--timeout', '300'],
      exit: 1,
      cause: /handshake timeout after \d+ ms/,
      reason: 'timeout',
    },
    { name: 'name not resolved', args: () => ['nonexistent.invalid'], exit: 1, cause: /cannot resolve nonexistent\.invalid \(ENOTFOUND\)/, reason: 'dns' },
    {
      name: 'no common protocol (--tls-max 1.2 vs TLS 1.3 only)',
      args: () => [at('tls13'), ...CA, '--tls-max', '1.2'],
      exit: 1,
      cause: /protocol version/,
      reason: 'alert: protocol version',
    },
    {
      name: 'no common protocol (--tls-min 1.3 vs TLS 1.2 only)',
      args: () => [at('tls12cbc'), ...CA, '--tls-min', '1.3'],
      exit: 1,
      cause: /protocol version/,
      reason: 'alert: protocol version',
    },
    {
      name: 'no common TLS 1.2 cipher',
      args: () => [at('tls12cbc'), ...CA, '--ciphers', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
      exit: 1,
      // One wording on every OpenSSL (3.0 says 'sslv3 alert ...', 3.5 'ssl/tls alert ...').
      cause: /handshake failed: peer sent alert handshake failure/,
      reason: 'alert: handshake failure',
    },
    {
      name: 'no common TLS 1.3 ciphersuite',
      args: () => [at('aes128'), ...CA, '--ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256'],
      exit: 1,
      // One wording on every OpenSSL (3.0 says 'sslv3 alert ...', 3.5 'ssl/tls alert ...').
      cause: /handshake failed: peer sent alert handshake failure/,
      reason: 'alert: handshake failure',
    },
  ];

  const verification: (Case & { server: string })[] = [
    { name: 'expired certificate', server: 'expired', args: () => [at('expired'), ...LOCALHOST], exit: 1, cause: /certificate has expired/ },
    { name: 'self-signed certificate', server: 'selfsigned', args: () => [at('selfsigned'), ...LOCALHOST], exit: 1, cause: /self-signed certificate/ },
    { name: 'wrong host', server: 'wronghost', args: () => [at('wronghost'), ...LOCALHOST], exit: 1, cause: /hostname mismatch/ },
    {
      name: 'unknown CA (--ca other-ca.pem)',
      server: 'good',
      args: () => [at('good'), '--ca', fixture('other-ca.pem'), '--servername', 'localhost'],
      exit: 1,
      cause: /unable to get local issuer certificate/,
    },
    {
      name: 'an IP address not in the certificate',
      server: 'wronghost',
      args: () => [at('wronghost'), ...CA],
      exit: 1,
      cause: /IP address mismatch/,
    },
  ];

  const config: Case[] = [
    { name: '--tls-min 1.4', args: () => [`127.0.0.1:${closed}`, '--tls-min', '1.4'], exit: 2, cause: /--tls-min.*1\.4/ },
    { name: '--reconnect -1', args: () => [`127.0.0.1:${closed}`, '--reconnect', '-1'], exit: 2, cause: /--reconnect/ },
    { name: '--timeout abc', args: () => [`127.0.0.1:${closed}`, '--timeout', 'abc'], exit: 2, cause: /--timeout/ },
    { name: "bad port 'host:99999'", args: () => ['host:99999'], exit: 2, cause: /port must be 1-65535/ },
    { name: "port not a number 'host:https'", args: () => ['host:https'], exit: 2, cause: /port must be a number/ },
    { name: 'no target', args: () => [], exit: 2, cause: /target/ },
    { name: 'unknown flag', args: () => [`127.0.0.1:${closed}`, '--bogus'], exit: 2, cause: /--bogus/ },
    { name: "--ciphers 'NOPE'", args: () => [`127.0.0.1:${closed}`, '--ciphers', 'NOPE'], exit: 2, cause: /--ciphers 'NOPE'.*no cipher match/ },
    { name: "--ciphersuites 'NOPE'", args: () => [`127.0.0.1:${closed}`, '--ciphersuites', 'NOPE'], exit: 2, cause: /--ciphersuites 'NOPE'/ },
    { name: "--groups 'NOPE'", args: () => [`127.0.0.1:${closed}`, '--groups', 'NOPE'], exit: 2, cause: /--groups: unknown group 'NOPE' \(OpenSSL 3\.\d+\.\d+ knows e\.g\. .*X25519, P-256/ },
    { name: '--groups with one unknown among known', args: () => [`127.0.0.1:${closed}`, '--groups', 'X25519,NOPE,P-256'], exit: 2, cause: /--groups: unknown group 'NOPE'/ },
    { name: '--alpn with a 256-byte protocol name', args: () => [`127.0.0.1:${closed}`, '--alpn', `${'x'.repeat(256)}`], exit: 2, cause: /--alpn/ },
    { name: 'missing --ca file', args: () => [`127.0.0.1:${closed}`, '--ca', '/nonexistent/ca.pem'], exit: 2, cause: /cannot read CA file \/nonexistent\/ca\.pem/ },
    { name: '--ca that holds no certificate', args: () => [`127.0.0.1:${closed}`, '--ca', fixture('ca.key')], exit: 2, cause: /ca\.key holds no PEM certificate/ },
    { name: 'missing --cert file', args: () => [`127.0.0.1:${closed}`, '--cert', '/nonexistent/c.pem', '--key', fixture('client.key')], exit: 2, cause: /cannot read \/nonexistent\/c\.pem/ },
    { name: 'missing --key file', args: () => [`127.0.0.1:${closed}`, '--cert', fixture('client.pem'), '--key', '/nonexistent/c.key'], exit: 2, cause: /cannot read \/nonexistent\/c\.key/ },
    { name: '--cert that is a key', args: () => [`127.0.0.1:${closed}`, '--cert', fixture('client.key'), '--key', fixture('client.key')], exit: 2, cause: /client\.key is not a PEM certificate/ },
    { name: '--key that is a certificate', args: () => [`127.0.0.1:${closed}`, '--cert', fixture('client.pem'), '--key', fixture('client.pem')], exit: 2, cause: /client\.pem is not a usable PEM private key/ },
    {
      name: 'mismatched cert and key (localhost.pem with rsa.key)',
      args: () => [`127.0.0.1:${closed}`, '--cert', fixture('localhost.pem'), '--key', fixture('rsa.key')],
      exit: 2,
      cause: /rsa\.key does not match .*localhost\.pem/,
    },
    { name: '--cert without --key', args: () => [`127.0.0.1:${closed}`, '--cert', fixture('client.pem')], exit: 2, cause: /--key/ },
    { name: '--keylog in a missing directory', args: () => [`127.0.0.1:${closed}`, '--keylog', '/nonexistent/dir/keys.log'], exit: 2, cause: /--keylog \/nonexistent\/dir\/keys\.log: cannot open the key log file: .*ENOENT/ },
    { name: '--openssl that does not exist', args: () => [`127.0.0.1:${closed}`, '--openssl', '/nonexistent/libssl.so.3'], exit: 2, cause: /--openssl.*\/nonexistent\/libssl\.so\.3/ },
    {
      name: 'a bad --ca is reported before name resolution',
      args: () => ['nonexistent.invalid', '--ca', '/nonexistent/ca.pem'],
      exit: 2,
      cause: /cannot read CA file/,
    },
  ];

  for (const group of [
    { title: 'network', cases: network },
    { title: 'verification', cases: verification },
    { title: 'bad flags and files', cases: config },
  ]) {
    describe(group.title, () => {
      for (const c of group.cases) {
        const plain = plan(() => c.args());
        const json = plan(() => [...c.args(), '--json']);
        it(`${c.name}: exit ${c.exit}, one line`, async () => {
          assertOneLine(await plain(), c.exit, c.cause);
        });
        it(`${c.name}: --json gives {error}`, async () => {
          const doc = assertJsonError(await json(), c.exit, c.cause);
          if (c.reason) assert.equal(doc.error.reason, c.reason);
          if (c.exit === 2) assert.equal(doc.error.code, 'IOCPTLS_ERR_CONFIG');
          else assert.match(doc.error.code, /^IOCPTLS_ERR_(NET|TLS)/);
        });
      }
    });
  }

  describe('--insecure: verification failures are reported, not fatal', () => {
    for (const c of verification) {
      const json = plan(() => [...c.args(), '--insecure', '--json']);
      const plain = plan(() => [...c.args(), '-k']);
      it(`${c.name}`, async () => {
        const r = await json();
        assert.equal(r.code, 0, dump(r));
        const d = JSON.parse(r.out);
        assert.equal(d.verification.enforced, false);
        assert.equal(d.verification.ok, false);
        assert.match(d.verification.result, c.cause);
        assert.equal(d.negotiated.protocol, 'TLSv1.3');
        const human = await plain();
        assert.equal(human.code, 0, dump(human));
        assert.match(human.out, /Verification\s+FAILED: .*\(not enforced: --insecure\)/);
      });
    }
  });

  describe('--debug', () => {
    for (const c of [network[0], network[3], verification[0], config[7], config[11]]) {
      const debug = plan(() => [...c.args(), '--debug']);
      it(`${c.name}: the line, then a stack trace`, async () => {
        const r = await debug();
        assert.equal(r.code, c.exit, dump(r));
        const [first, ...rest] = r.stderr.split('\n');
        assert.match(first + '\n', ONE_LINE);
        assert.match(first, c.cause);
        assert.match(rest.join('\n'), STACK, dump(r));
      });
    }
  });

  describe('a server that requires a client certificate we do not send', () => {
    // TLS 1.3 sends its alert after our handshake is complete: still a failed connect.
    for (const v of [
      { max: 'TLSv1.3' as const, cause: /TLS read failed: peer sent alert certificate required/, reason: 'alert: certificate required' },
      { max: 'TLSv1.2' as const, cause: /handshake failed: peer sent alert handshake failure/, reason: 'alert: handshake failure' },
    ]) {
      it(`${v.max}: exit 1, the server's alert, with or without --send`, async () => {
        const server = await startNodeTlsServer({
          key: fs.readFileSync(fixture('localhost.key')),
          cert: fs.readFileSync(fixture('localhost.pem')),
          requestCert: true,
          rejectUnauthorized: true,
          ca: fs.readFileSync(fixture('ca.pem')),
          maxVersion: v.max,
        });
        try {
          const args = ['connect', `127.0.0.1:${server.port}`, ...CA];
          const [plain, json] = await Promise.all([runCli(args), runCli([...args, '--send', 'hi\\n', '--json'])]);
          assertOneLine(plain, 1, v.cause);
          const doc = assertJsonError(json, 1, v.cause);
          assert.equal(doc.error.reason, v.reason);
          assert.equal(server.seen.length, 0);
        } finally {
          await server.close();
        }
      });
    }
  });

  it('failed reconnects are counted and reported, and fail the run', async () => {
    const one = await startSServer({ args: ['-www', '-naccept', '2'] }); // then it exits: later connects are refused
    try {
      const r = await runCli(['connect', `127.0.0.1:${one.port}`, ...LOCALHOST, '--reconnect', '3', '--json']);
      assert.equal(r.code, 1, dump(r));
      const d = JSON.parse(r.out);
      assert.equal(d.reconnect.attempts, 3);
      assert.equal(d.reconnect.resumed, 1);
      assert.equal(d.reconnect.failed, 2);
      assert.deepEqual(d.reconnect.handshakeMs.slice(1), [null, null]);
      // s_server exits after its second accept; a connect racing its exit can sit in the backlog
      // of the closing listener and be reset instead of refused.
      assert.match(d.reconnect.errors[0], /connection refused|connection reset/);
      assert.match(r.stderr, /^iocptls: 2 of 3 reconnects failed: \S+: connection (refused \(ECONNREFUSED\)|reset by peer \(ECONNRESET\))\n$/);
    } finally {
      await one.stop();
    }
  });

  it('a failed connect writes no key log lines and leaves nothing on stdout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-err-'));
    try {
      const file = path.join(dir, 'k.log');
      const r = await runCli(['connect', at('tls13'), ...CA, '--tls-max', '1.2', '--keylog', file]);
      assertOneLine(r, 1, /protocol version/);
      assert.equal(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '', '');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
