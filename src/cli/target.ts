// HOST:PORT parsing and name resolution (timed: connect reports DNS time).
import dns from 'node:dns/promises';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ConfigError, NetError } from '../engine/errors';

export interface Target {
  host: string;
  port: number;
}

/** 'example.com:443', '127.0.0.1', '[::1]:4433', '::1' (bare IPv6 needs no brackets without a port). */
export function parseTarget(s: string, defaultPort: number): Target {
  let host = s;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (net.isIPv6(s)) {
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
  if (net.isIP(host)) return { ip: host, family: net.isIP(host) as 4 | 6, ms: 0 };
  try {
    const r = await dns.lookup(host);
    return { ip: r.address, family: r.family as 4 | 6, ms: performance.now() - t0 };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
    throw new NetError(`cannot resolve ${host} (${code})`, code, 'dns');
  }
}
