import { Flags } from '@oclif/core';
import fs from 'node:fs';
import { PlainCommand } from '../cli/base';
import { fsReason, prepareOutputDir } from '../cli/files';
import { ConfigError } from '../engine/errors';
import { KEY_TYPES, issueDirectory, keyTypeUnavailable, plannedPaths, refuseOverwrite, writePkiFiles, type DirectoryDocument } from '../engine/pki';
import { useOpenSSL } from '../engine/setup';

export type CertResult = DirectoryDocument & { openssl: { version: string; source: string } };

export default class Cert extends PlainCommand {
  static summary = 'Create a test CA and a certificate signed by it.';

  static description = [
    'Writes ca.pem + ca.key (unless --ca-cert/--ca-key name an existing CA) and NAME.pem + NAME.key into --out. ' +
      'The leaf file holds the leaf certificate only; private keys are unencrypted PKCS#8 with mode 0600.',
    'For testing only: anyone holding ca.key can impersonate any name to clients that trust ca.pem.',
    'See docs/commands/cert.md.',
  ].join('\n\n');

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --san example.test,10.0.0.5 --days 7',
    '<%= config.bin %> <%= command.id %> --client --ca-cert iocptls-pki/ca.pem --ca-key iocptls-pki/ca.key',
  ];

  static enableJsonFlag = true;

  static flags = {
    out: Flags.string({ description: 'directory to write into', default: './iocptls-pki' }),
    'ca-cert': Flags.string({ description: 'sign with this CA certificate (PEM) instead of creating a CA', dependsOn: ['ca-key'] }),
    'ca-key': Flags.string({ description: 'private key (PEM, unencrypted) of --ca-cert', dependsOn: ['ca-cert'] }),
    'key-type': Flags.option({ description: 'key algorithm (ml-dsa-*: post-quantum ML-DSA, OpenSSL 3.5+)', options: KEY_TYPES, default: 'ecdsa-p256' as const })(),
    san: Flags.string({
      description: 'DNS name or IP address the certificate is for (repeatable or comma-separated)',
      multiple: true,
      delimiter: ',',
      default: ['localhost', '127.0.0.1', '::1'],
    }),
    days: Flags.string({ description: 'validity of the leaf in days (a new CA gets at least 3650)', default: '30' }),
    client: Flags.boolean({ description: 'issue a clientAuth certificate instead of a serverAuth one', default: false }),
    name: Flags.string({ description: 'base name of the leaf files [default: server, or client with --client]' }),
    force: Flags.boolean({ description: 'overwrite existing files', default: false }),
    openssl: Flags.string({ description: 'path to a libssl to use instead of the OpenSSL inside Node.js [env: IOCPTLS_OPENSSL]' }),
  };

  async run(): Promise<CertResult> {
    const { flags } = await this.parse(Cert);
    // Everything that can go wrong here is the command line's or a file's: exit 2, one line.
    const fail = (msg: string): never => {
      throw new ConfigError(msg);
    };

    // Digits only: parseInt would take "30x" or "1e3" and mean something unasked for.
    if (!/^[1-9][0-9]{0,5}$/.test(flags.days.trim())) fail(`--days must be a whole number of days from 1 to 999999, not "${flags.days}"`);
    const name = flags.name ?? (flags.client ? 'client' : 'server');
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) fail(`--name must be a plain file name, not "${name}"`);
    if (name === 'ca' && !flags['ca-cert']) fail('--name ca would overwrite the new CA; choose another name');

    try {
      const ssl = useOpenSSL(flags.openssl);
      const unavailable = keyTypeUnavailable(flags['key-type']);
      if (unavailable) fail(unavailable);
      const existingCA = flags['ca-cert'] && flags['ca-key']
        ? {
            certFile: flags['ca-cert'],
            keyFile: flags['ca-key'],
            certPem: readText(flags['ca-cert'], '--ca-cert'),
            keyPem: readText(flags['ca-key'], '--ca-key'),
          }
        : undefined;
      const request = {
        dir: flags.out,
        existingCA,
        keyType: flags['key-type'],
        sans: flags.san,
        days: Number(flags.days),
        client: flags.client,
        name,
      };
      if (!flags.force) refuseOverwrite(plannedPaths(request)); // before spending time on keys
      prepareOutputDir('--out', flags.out);
      const { document, files } = issueDirectory(request);
      try {
        writePkiFiles(files, { force: flags.force });
      } catch (e) {
        const f = (e as NodeJS.ErrnoException).path;
        throw new ConfigError(`cannot write ${f ?? flags.out}: ${fsReason(e)}`);
      }
      const result: CertResult = { ...document, openssl: { version: ssl.version, source: ssl.source } };
      if (!this.jsonEnabled()) this.log(render(result));
      return result;
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      return fail((e as Error).message);
    }
  }
}

function readText(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${flag}: cannot read ${file}: ${fsReason(e)}`);
  }
}

function render(r: CertResult): string {
  const l = r.leaf;
  const days = Math.round((Date.parse(l.notAfter) - Date.parse(l.notBefore)) / 86400e3);
  const lines = [
    r.ca.created ? `CA (new)  ${r.ca.certFile}` : `CA        ${r.ca.certFile}`,
    `          key      ${r.ca.keyFile}`,
    `          subject  ${r.ca.subject}`,
    `          SHA-256  ${r.ca.fingerprint256}`,
    `${l.extendedKeyUsage === 'clientAuth' ? 'client' : 'server'}    ${l.certFile}`,
    `          key      ${l.keyFile}`,
    `          subject  ${l.subject}`,
    `          SANs     ${l.sans.length ? l.sans.join(', ') : '(none)'}`,
    `          valid    ${l.notBefore} to ${l.notAfter} (${days} days)`,
    `          type     ${l.keyType}, ${l.extendedKeyUsage}`,
    `          SHA-256  ${l.fingerprint256}`,
    `OpenSSL   ${r.openssl.version} (${r.openssl.source})`,
  ];
  return lines.join('\n');
}
