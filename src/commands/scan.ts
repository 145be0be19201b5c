import { Args, Flags } from '@oclif/core';
import fs from 'node:fs';
import net from 'node:net';
import { EXIT_FAILURE, IocptlsCommand } from '../cli/base';
import { assertReadable, fsReason } from '../cli/files';
import { parseTarget } from '../cli/target';
import { ConfigError } from '../engine/errors';
import { opensslInfo } from '../engine/openssl_info';
import { runScan } from '../engine/scan/scan';
import type { ScanTarget } from '../engine/scan/types';
import { toolInfo } from '../report/facts';
import { buildScanDocument, renderScan, ScanDocument } from '../report/scan';
import { checkScanPolicy, loadScanPolicy } from '../report/scan_policy';

export default class Scan extends IocptlsCommand {
  static summary = 'Scan TLS servers: protocols, cipher suites and order, groups, certificate.';
  static description = `Probes each target with ClientHellos built by iocptls itself, so it also sees what OpenSSL no longer speaks (SSL 2.0, SSL 3.0, export and RC4 suites). Cipher suites and key exchange groups are found by elimination (about one connection per accepted suite), and whether the server imposes its own order by offering the first two found the other way round. The certificate chain comes from one full OpenSSL handshake, verified against --ca or the system store. Probes of a host run concurrently (--concurrency), each with a timeout and one retry. The report marks findings good, warn or bad; --json prints one iocptls.scan/1 document (docs/scan-schema.md). Exit status: 0 scanned, 1 a target could not be scanned or --policy failed, 2 bad input.\n\nSee docs/commands/scan.md.`;
  static examples = [
    '<%= config.bin %> scan example.com',
    '<%= config.bin %> scan 127.0.0.1:4433 --servername localhost --ca ca.pem --json',
    '<%= config.bin %> scan --targets hosts.txt --policy policy.json',
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
    hosts: Flags.integer({ description: 'targets scanned at the same time', default: 16, min: 1, max: 1024 }),
    'max-probes': Flags.integer({ description: 'probes in flight over all targets together', default: 256, min: 1, max: 4096 }),
    rate: Flags.integer({ description: 'new probes per second over all targets together [default: no limit]', min: 1 }),
    chains: Flags.integer({ description: 'parallel elimination chains per list of candidates (1: one sequential chain, the gentlest)', default: 8, min: 1, max: 64 }),
    timeout: Flags.integer({ description: 'connect + handshake timeout per connection, ms', default: 5000, min: 1 }),
    retries: Flags.integer({ description: 'retries of a probe that timed out or was reset', default: 1, min: 0, max: 5 }),
    policy: Flags.string({ description: 'JSON file of rules the scan must pass (docs/scan-schema.md); exit 1 when one fails' }),
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
    const policy = flags.policy ? (assertReadable('--policy', flags.policy), loadScanPolicy(flags.policy)) : undefined;

    const startedAt = new Date();
    const t0 = performance.now();
    const hosts = await runScan(targets, {
      concurrency: flags.concurrency,
      hostConcurrency: flags.hosts,
      globalConcurrency: flags['max-probes'],
      rate: flags.rate,
      chains: flags.chains,
      timeoutMs: flags.timeout,
      retries: flags.retries,
      backend,
      ca: flags.ca,
    });
    const doc = buildScanDocument({
      tool: toolInfo(),
      openssl: opensslInfo(),
      backend,
      options: { concurrency: flags.concurrency, timeoutMs: flags.timeout, retries: flags.retries },
      startedAt,
      durationMs: performance.now() - t0,
      hosts,
    });
    if (policy) {
      const violations = checkScanPolicy(doc, policy);
      doc.policy = { file: flags.policy!, passed: violations.length === 0, violations };
    }
    if (!this.jsonEnabled()) this.log(renderScan(doc, process.stdout.isTTY));
    const failed = doc.hosts.filter((h) => h.error);
    if (failed.length) {
      process.stderr.write(`iocptls: ${failed.length} of ${doc.hosts.length} targets not scanned: ${failed[0].error}\n`);
      process.exitCode = EXIT_FAILURE;
    }
    if (doc.policy && !doc.policy.passed) {
      process.stderr.write(`iocptls: policy ${flags.policy} failed: ${doc.policy.violations[0]}${doc.policy.violations.length > 1 ? ` (and ${doc.policy.violations.length - 1} more)` : ''}\n`);
      process.exitCode = EXIT_FAILURE;
    }
    return doc;
  }
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
