// Subject alternative names: which strings are DNS names and which are IP addresses, checked
// strictly because they end up in an OpenSSL extension string where ',' and ':' are syntax.
import net from 'node:net';

export interface SubjectAltNames {
  dns: string[];
  ips: string[];
}

const DNS_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** Splits names into DNS names and IPs, rejecting anything that is neither. */
export function parseSans(names: readonly string[]): SubjectAltNames {
  const out: SubjectAltNames = { dns: [], ips: [] };
  for (const raw of names) {
    const name = raw.trim();
    if (name === '') throw new Error('empty subject alternative name');
    // Zone ids (fe80::1%eth0) are local to one host and cannot be encoded in a certificate.
    if (net.isIP(name) !== 0 && !name.includes('%')) {
      if (!out.ips.includes(name)) out.ips.push(name);
    } else if (isDnsName(name)) {
      if (!out.dns.includes(name)) out.dns.push(name);
    } else {
      throw new Error(`not a DNS name or IP address: "${raw}"`);
    }
  }
  return out;
}

/** Hostnames with an optional leading "*." wildcard label (RFC 6125 style). */
export function isDnsName(name: string): boolean {
  if (name.length > 253) return false;
  const labels = (name.startsWith('*.') ? name.slice(2) : name).split('.');
  return labels.every((l) => DNS_LABEL.test(l)) && !/^[0-9.]+$/.test(name);
}

/** The value X509V3_EXT_nconf_nid expects for subjectAltName, e.g. "DNS:localhost,IP:::1". */
export function subjectAltNameValue(sans: SubjectAltNames): string {
  return [...sans.dns.map((d) => `DNS:${d}`), ...sans.ips.map((ip) => `IP:${ip}`)].join(',');
}
