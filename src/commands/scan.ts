import { Args, Flags } from '@oclif/core';
import fs from 'node:fs';
import net from 'node:net';
import { EXIT_FAILURE, EXIT_USAGE, IocptlsCommand } from '../cli/base';
import { assertReadable, assertWritable, fsReason, reportUnwritten, writeOutputs } from '../cli/files';
import { parseTarget } from '../cli/target';
import { ConfigError } from '../engine/errors';
import { opensslInfo } from '../engine/openssl_info';
import { runScan } from '../engine/scan/scan';
import type { HostScan, ScanTarget } from '../engine/scan/types';
import { toolInfo } from '../report/facts';
import { buildScanDocument, renderScan, ScanDocument, ScanHostDocument } from '../report/scan';
import type { ScanPolicy } from '../report/scan_policy';

/** Exit status of a target that could not be scanned (a scan error), apart from a policy violation (1). */
export const EXIT_SCAN_ERROR = 3;

export default class Scan extends IocptlsCommand {
  static summary = 'Scan TLS servers: protocols, cipher suites and order, groups, certificate.';
  static description = `Probes each target with ClientHellos built by iocptls itself, so it also sees what OpenSSL no longer speaks (SSL 2.0, SSL 3.0, export and RC4 suites). Cipher suites, key exchange groups and signature algorithms are found by elimination (about one connection per accepted item) in parallel chains over disjoint subsets of the candidates; the server's order across them comes from one round of probes offering two items each, and whether it has an order at all from two items offered both ways round. The certificate chain comes from one full OpenSSL handshake, verified against --ca or the system store. Probes of a host run concurrently (--concurrency), each with a timeout and one retry; --max-probes and --rate bound a scan of many hosts. The report marks findings good, warn or bad; --json prints one iocptls.scan/1 document (docs/scan-schema.md), --jsonl one per target as each finishes, --html a page. --quick scans many hosts in about ten connections each (what it did not check is named). iocptls compare OLD NEW shows what changed between two scans. Exit status: 0 scanned (and the policy passed), 1 --policy was broken, 2 bad input, 3 a target could not be scanned.\n\nSee docs/commands/scan.md.`;
  static examples = [
    '<%= config.bin %> scan example.com',
    '<%= config.bin %> scan 127.0.0.1:4433 --servername localhost --ca ca.pem --json',
    '<%= config.bin %> scan --targets hosts.txt --policy intermediate --jsonl',
    '<%= config.bin %> scan --targets fleet.txt --quick --jsonl',
  ];
  static enableJsonFlag = true;
  static strict = false;
  static args = {
    targets: Args.string({ description: 'HOST[:PORT] to scan (default port 443); several may be given' }),
  };
  static flags = {
    targets: Flags.string({ description: 'file of targets, one HOST[:PORT] per line (# starts a comment)' }),
    servername: Flags.string({ description: 'SNI to send and name to verify [default: the host, unless it is an IP address]' }),
    ca: Flags.string({ description: 'verify the certificate against the CA certificates in this PEM file' }),
    concurrency: Flags.integer({ description: 'probes (connections) in flight per host', default: 32, min: 1, max: 256 }),
    hosts: Flags.integer({ description: 'targets scanned at the same time [default: 16; 64 with --quick]', min: 1, max: 1024 }),
    'max-probes': Flags.integer({ description: 'probes in flight over all targets together', default: 256, min: 1, max: 4096 }),
    rate: Flags.integer({ description: 'new probes per second over all targets together [default: no limit]', min: 1 }),
    chains: Flags.integer({ description: 'parallel elimination chains per list of candidates (1: one sequential chain, the gentlest)', default: 8, min: 1, max: 64 }),
    timeout: Flags.integer({ description: 'connect + handshake timeout per connection, ms', default: 5000, min: 1 }),
    retries: Flags.integer({ description: 'retries of a probe that timed out or was reset', default: 1, min: 0, max: 5 }),
    policy: Flags.string({
      description:
        "Rules the scan must pass: modern, intermediate or old (Mozilla's server-side TLS profiles, version 5.7), or a JSON file of rules (docs/scan-schema.md). Exit 1 when one is broken; each violation is one line naming the rule.",
      helpValue: 'modern|intermediate|old|FILE',
    }),
    quick: Flags.boolean({
      description:
        'A quick scan for many hosts: about ten connections per host instead of about 160. It checks the protocols offered (SSL 2.0 to TLS 1.3), what TLS 1.3 and TLS 1.2 negotiate with a modern client (suite, group, post-quantum hybrid, ALPN h2), which post-quantum hybrid groups TLS 1.3 accepts, the certificate from one OpenSSL handshake (chain, trust, hostname, days left, key), TLS_FALLBACK_SCSV, Heartbleed and the ServerHello features, and raises the same findings as a full scan for those. It does not enumerate cipher suites, groups or signature algorithms, and leaves out the tolerance, resumption and full-handshake probes: each host says what was not checked (quick.notChecked in JSON), and --policy names the rules it could not evaluate in full.',
    }),
    jsonl: Flags.boolean({ description: 'print one iocptls.scan/1 document per target, one per line, as each target finishes (JSON lines)', exclusive: ['json'] }),
    html: Flags.string({ description: 'also write the report as a self-contained HTML page to this file', helpValue: 'FILE' }),
  };

  async run(): Promise<ScanDocument> {
    const { argv, flags } = await this.parse(Scan);
    const { backend } = this.setupEngine(flags);
    // Everything the command line and its files can get wrong is checked before the network is touched.
    const specs = [...(argv as string[])];
    if (flags.targets) specs.push(...readTargets(flags.targets));
    if (!specs.length) throw new ConfigError('no target: give HOST[:PORT] or --targets FILE');
    const targets: ScanTarget[] = specs.map((s) => ({ ...parseTarget(s, 443), servername: flags.servername }));
    if (flags.servername && net.isIP(flags.servername)) throw new ConfigError(`--servername ${flags.servername}: SNI must be a host name, not an IP address`);
    if (flags.ca) assertReadable('--ca', flags.ca);
    // Loaded only with --policy / --html: most scans need neither, and every start pays for what it loads.
    const policyModule = flags.policy ? await import('../report/scan_policy') : undefined;
    const policy = policyModule?.loadScanPolicy(flags.policy!);
    if (flags.html !== undefined) assertWritable('--html', flags.html);

    const startedAt = new Date();
    const t0 = performance.now();
    const options = { concurrency: flags.concurrency, timeoutMs: flags.timeout, retries: flags.retries };
    const tool = toolInfo();
    const openssl = opensslInfo();
    const built = new Map<HostScan, ScanHostDocument>();
    const documentOf = (hosts: HostScan[], durationMs: number, at: Date) =>
      withPolicy(buildScanDocument({ tool, openssl, backend, options, startedAt: at, durationMs, hosts, built }), policyModule, policy, flags.policy);
    const hosts = await runScan(targets, {
      concurrency: flags.concurrency,
      // A quick scan has about ten probes per host: more hosts at once fill the same --max-probes.
      hostConcurrency: flags.hosts ?? (flags.quick ? 64 : 16),
      globalConcurrency: flags['max-probes'],
      rate: flags.rate,
      chains: flags.chains,
      timeoutMs: flags.timeout,
      retries: flags.retries,
      backend,
      ca: flags.ca,
      quick: flags.quick,
      // JSON lines: each target's own document as soon as it is done (a long list streams).
      onHost: flags.jsonl
        ? (h) => {
            const d = documentOf([h], h.ms, new Date(Date.now() - h.ms));
            built.set(h, d.hosts[0]);
            process.stdout.write(JSON.stringify(d) + '\n');
          }
        : undefined,
    });
    const doc = documentOf(hosts, performance.now() - t0, startedAt);
    if (!this.jsonEnabled() && !flags.jsonl) this.log(renderScan(doc, process.stdout.isTTY));
    const renderScanHtml = flags.html !== undefined ? (await import('../report/html/scan_page')).renderScanHtml : undefined;
    const unwritten = writeOutputs([{ flag: '--html', file: flags.html, write: (f) => fs.writeFileSync(f, renderScanHtml!(doc)) }]);
    reportUnwritten(unwritten);
    const failed = doc.hosts.filter((h) => h.error);
    if (doc.policy && !doc.policy.passed) {
      process.stderr.write(`iocptls: policy ${flags.policy} failed (${doc.policy.violations.length}):\n${doc.policy.violations.map((v) => `  ${v}\n`).join('')}`);
      process.exitCode = EXIT_FAILURE;
    }
    if (doc.policy?.notEvaluated?.length) {
      process.stderr.write(`iocptls: policy ${flags.policy}: ${doc.policy.notEvaluated.length} rules not evaluated in full by a quick scan:\n${doc.policy.notEvaluated.map((v) => `  ${v}\n`).join('')}`);
    }
    // A target not scanned is a scan error (3), not a verdict on the server: it outranks the policy.
    if (failed.length) {
      process.stderr.write(`iocptls: ${failed.length} of ${doc.hosts.length} targets not scanned: ${failed[0].error}\n`);
      process.exitCode = EXIT_SCAN_ERROR;
    }
    if (unwritten.length && !process.exitCode) process.exitCode = EXIT_USAGE;
    return doc;
  }
}

function withPolicy(doc: ScanDocument, m: typeof import('../report/scan_policy') | undefined, policy: ScanPolicy | undefined, spec: string | undefined): ScanDocument {
  if (!policy || !m) return doc;
  const violations = m.checkScanPolicy(doc, policy);
  const notEvaluated = m.policyLimits(doc, policy);
  doc.policy = { file: spec!, passed: violations.length === 0, violations, ...(notEvaluated.length ? { notEvaluated } : {}) };
  return doc;
}

function readTargets(file: string): string[] {
  assertReadable('--targets', file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`--targets ${file}: ${fsReason(e)}`);
  }
  const list = text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  if (!list.length) throw new ConfigError(`--targets ${file}: no targets in it`);
  return list;
}
