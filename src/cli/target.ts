// HOST:PORT parsing and name resolution (timed: connect reports DNS time).
import dns from 'node:dns/promises';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ConfigError, NetError } from '../engine/errors';

export interface Target {
  host: string;
  port: number;
}

/** An IPv6 address has two colons at least: the test spares net.isIPv6, whose first call builds a large regex (~10 ms of every CLI start that names a HOST:PORT). */
const isIPv6 = (s: string) => s.indexOf(':') !== s.lastIndexOf(':') && net.isIPv6(s);
const ipFamily = (s: string): 0 | 4 | 6 => (net.isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0);

/**
 * 'example.com:443', '127.0.0.1', '[::1]:4433', '::1' (bare IPv6 needs no brackets without a port;
 * one whose last group could be a port, such as '::1:4433', is refused as ambiguous).
 */
export function parseTarget(s: string, defaultPort: number): Target {
  let host = s;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (isIPv6(s)) {
    // '::1:4433' is a valid address (0:0:0:0:0:0:1:4433), and also how people write ::1 port
    // 4433: refuse the guess either way, and say how to write each.
    const last = /^(.*):(\d{1,5})$/.exec(s);
    if (last && isIPv6(last[1]) && Number(last[2]) >= 1 && Number(last[2]) <= 65535) {
      throw new ConfigError(`'${s}' is ambiguous: write [${last[1]}]:${last[2]} for ${last[1]} port ${last[2]}, or [${s}] for the address ${s} (port ${defaultPort})`);
    }
    host = s;
  } else {
    const i = s.lastIndexOf(':');
    if (i >= 0) {
      host = s.slice(0, i);
      const p = s.slice(i + 1);
      if (!/^\d+$/.test(p)) throw new ConfigError(`'${s}': port must be a number`);
      port = Number(p);
    }
  }
  if (!host) throw new ConfigError(`'${s}': no host`);
  if (!(port >= 1 && port <= 65535)) throw new ConfigError(`'${s}': port must be 1-65535`);
  return { host, port };
}

export interface Resolved {
  ip: string;
  family: 4 | 6;
  ms: number;
}

export async function resolveHost(host: string): Promise<Resolved> {
  const t0 = performance.now();
  const family = ipFamily(host);
  if (family) return { ip: host, family, ms: 0 };
  try {
    const r = await dns.lookup(host);
    return { ip: r.address, family: r.family as 4 | 6, ms: performance.now() - t0 };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
    throw new NetError(`cannot resolve ${host} (${code})`, code, 'dns');
  }
}

/**
 * The address `serve --host` binds: an IP address as given, or a name resolved once here (the
 * first address the resolver gives, as a client connecting to that name would try first).
 * A name that does not resolve is a bad flag (exit 2).
 */
export async function resolveBindHost(host: string): Promise<string> {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (ipFamily(h)) return h;
  if (h === '') throw new ConfigError(`--host needs an address (127.0.0.1, ::1, 0.0.0.0, ::) or a host name`);
  try {
    return (await dns.lookup(h)).address;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
    throw new ConfigError(`--host ${host}: cannot resolve it (${code}): give an address (127.0.0.1, ::1, 0.0.0.0, ::) or a name that resolves`);
  }
}
