// A certificate chain far longer than a TLS record and than the 64 KiB BIO pair: a leaf plus
// 200 EC CA certificates (~86 KB of DER), made by the pki module at test time (no fixture). The
// leaf is issued by the first CA (the root to trust, so the chain verifies); the other CAs are
// self-signed and unrelated: what matters is the size of the Certificate message, and a verifier
// ignores certificates it does not need.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createCA, createLeaf } from '../../src/engine/pki';

export interface BigChain {
  dir: string;
  /** Server leaf first, then the CAs (what `serve --cert` sends). */
  certPath: string;
  keyPath: string;
  /** The same chain with a clientAuth leaf (for client certificates). */
  clientCertPath: string;
  clientKeyPath: string;
  /** The CAs alone (for `s_server -cert_chain`, whose -cert is the leaf alone). */
  casPath: string;
  /** The CA that issued both leaves: trust it and the chain verifies. */
  rootPath: string;
  /** Certificates in a chain file (leaf included). */
  count: number;
  /** Total DER size of the server chain, bytes. */
  derBytes: number;
  remove(): void;
}

export function bigChain(cas = 200): BigChain {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-chain-'));
  const file = (name: string, text: string, mode = 0o644) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, { mode });
    return p;
  };
  const caPems: string[] = [];
  const root = createCA({ cn: 'iocptls test chain root', days: 2, keyType: 'ecdsa-p256' });
  caPems.push(root.certPem);
  for (let i = 1; i < cas; i++) caPems.push(createCA({ cn: `iocptls test chain CA ${i}`, days: 2, keyType: 'ecdsa-p256' }).certPem);
  const server = createLeaf({ ca: root, sans: ['localhost', '127.0.0.1'], days: 2, keyType: 'ecdsa-p256' });
  const client = createLeaf({ ca: root, sans: ['client.test'], days: 2, keyType: 'ecdsa-p256', client: true });
  const derBytes = [server.certPem, ...caPems].reduce((a, p) => a + new X509Certificate(p).raw.length, 0);
  return {
    dir,
    certPath: file('chain.pem', server.certPem + caPems.join('')),
    keyPath: file('leaf.key', server.keyPem, 0o600),
    clientCertPath: file('client-chain.pem', client.certPem + caPems.join('')),
    clientKeyPath: file('client.key', client.keyPem, 0o600),
    casPath: file('cas.pem', caPems.join('')),
    rootPath: file('root.pem', root.certPem),
    count: cas + 1,
    derBytes,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
