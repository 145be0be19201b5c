// Flags of `bench http`, and turning them (with the target: a URL or HOST:PORT) into the run's
// HTTP load spec. Every value is checked here, before any connection: a bad one is one line.
import { Flags } from '@oclif/core';
import fs from 'node:fs';
import type { HttpLoadSpec } from '../engine/apps/http_client';
import type { BenchOptions } from '../engine/bench';
import { ConfigError } from '../engine/errors';

export const httpFlags = {
  requests: Flags.integer({ char: 'n', description: 'stop after this many requests (instead of --duration)', min: 1 }),
  rate: Flags.integer({ description: 'open loop: send this many requests per second over all connections, latency measured from each intended send time', min: 1 }),
  http: Flags.option({
    description: 'HTTP version: 1.1, 2 (h2 by ALPN, else the connection fails), or auto (offer h2 and http/1.1, speak what the server picks)',
    options: ['1.1', '2', 'auto'] as const,
    default: 'auto' as const,
  })(),
  pipeline: Flags.integer({ description: 'HTTP/1.1: requests in flight per connection (1: no pipelining)', default: 1, min: 1, max: 1024 }),
  streams: Flags.integer({ char: 'm', description: 'HTTP/2: concurrent streams per connection (as h2load -m)', default: 1, min: 1, max: 1024 }),
  'requests-per-connection': Flags.integer({
    description: 'open a new TLS connection after this many requests on one (full or resumed handshake per --resume); 0: keep each connection',
    default: 0,
    min: 0,
  }),
  resume: Flags.option({
    description: 'new connections resume a session: tickets, or ids (TLS 1.2 session IDs; the client refuses tickets)',
    options: ['none', 'tickets', 'ids'] as const,
    default: 'none' as const,
  })(),
  'resume-ratio': Flags.string({ description: 'fraction of new connections that resume, 0..1', default: '1' }),
  method: Flags.string({ description: 'request method', default: 'GET' }),
  path: Flags.string({ description: 'request path; repeat for several, used in turn [default: the URL\'s path, or /]', multiple: true }),
  header: Flags.string({ char: 'H', description: "request header 'Name: value'; repeatable", multiple: true }),
  body: Flags.string({ description: 'request body: a string, or @FILE to send the file\'s bytes' }),
  'expect-status': Flags.string({ description: 'status codes that count as success, comma-separated (e.g. 200,304) [default: any 2xx]' }),
  'response-size': Flags.integer({ description: 'without a target: the embedded server\'s response body size, bytes', default: 1024, min: 0, max: 64 * 1024 * 1024 }),
};

export interface HttpTarget {
  /** HOST:PORT for the bench's target parser, or undefined for the embedded server. */
  hostPort?: string;
  /** The URL's path and query, when it had one. */
  path?: string;
  /** Host header / :authority. */
  authority?: string;
}

/** 'https://host[:port]/path?q', 'HOST:PORT' or nothing (the embedded server). */
export function parseHttpTarget(arg: string | undefined): HttpTarget {
  if (arg === undefined) return {};
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
    let u: URL;
    try {
      u = new URL(arg);
    } catch {
      throw new ConfigError(`'${arg}' is not a URL`);
    }
    if (u.protocol !== 'https:') throw new ConfigError(`'${arg}': bench http speaks HTTPS only (https://...)`);
    if (u.username || u.password) throw new ConfigError(`'${arg}': credentials in the URL are not supported (use --header 'Authorization: ...')`);
    const port = u.port || '443';
    const host = u.hostname.startsWith('[') ? u.hostname : u.hostname;
    return {
      hostPort: `${host}:${port}`,
      path: (u.pathname || '/') + u.search,
      authority: u.port ? `${u.hostname}:${u.port}` : u.hostname,
    };
  }
  return { hostPort: arg, authority: arg };
}

function parseHeader(h: string): [string, string] {
  const i = h.indexOf(':');
  const name = i > 0 ? h.slice(0, i).trim() : '';
  if (!name || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ConfigError(`--header '${h}' is not 'Name: value'`);
  const value = h.slice(i + 1).trim();
  if (/[\r\n\0]/.test(value)) throw new ConfigError(`--header '${name}': the value must not contain CR, LF or NUL`);
  return [name, value];
}

function parseStatuses(s: string | undefined): number[] {
  if (s === undefined) return [];
  const codes = s.split(',').map((x) => x.trim());
  for (const c of codes) if (!/^[1-5]\d\d$/.test(c)) throw new ConfigError(`--expect-status: '${c}' is not a status code (100-599)`);
  return codes.map(Number);
}

function readBody(b: string | undefined): Buffer | undefined {
  if (b === undefined) return undefined;
  if (!b.startsWith('@')) return Buffer.from(b);
  const file = b.slice(1);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new ConfigError(`--body @${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The bench options of an http run from its flags and target. */
export function httpOptions(f: Record<string, any>, target: HttpTarget): Partial<BenchOptions> {
  const ratio = Number(f['resume-ratio']);
  if (!(ratio >= 0 && ratio <= 1) || String(f['resume-ratio']).trim() === '') throw new ConfigError(`--resume-ratio must be a number from 0 to 1, not '${f['resume-ratio']}'`);
  if (f.rate && f.requests) throw new ConfigError('--rate runs for --duration; leave out --requests');
  if (f.resume === 'ids' && f['tls-min'] === '1.3') throw new ConfigError('--resume ids resumes TLS 1.2 session IDs; TLS 1.3 resumes with tickets only (--resume tickets)');
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(f.method)) throw new ConfigError(`--method '${f.method}' is not a method name`);
  const paths: string[] = f.path?.length ? f.path : [target.path ?? '/'];
  for (const p of paths) if (!/^(\/|\*$)[^\s]*$/.test(p) || /[\r\n\0]/.test(p)) throw new ConfigError(`--path '${p}' must start with / and contain no spaces`);
  if (f.alpn !== undefined) throw new ConfigError('bench http sets ALPN itself: use --http 1.1|2|auto instead of --alpn');
  const protocol = f.http as HttpLoadSpec['protocol'];
  const http: HttpLoadSpec = {
    protocol,
    method: f.method,
    paths,
    // Filled in by the engine for the embedded server (its port is known once it listens).
    authority: target.authority ?? '',
    headers: (f.header ?? []).map(parseHeader),
    body: readBody(f.body),
    pipeline: f.pipeline,
    streams: f.streams,
    requestsPerConnection: f['requests-per-connection'],
    expectStatus: parseStatuses(f['expect-status']),
  };
  return {
    connections: f.connections ?? (f.rate ? 64 : 8),
    rate: f.rate ?? 0,
    count: f.requests ?? 0,
    resume: f.resume,
    resumeRatio: ratio,
    http,
    embeddedBodySize: f['response-size'],
  };
}

/** The ALPN list a client offers for --http. */
export function alpnFor(protocol: HttpLoadSpec['protocol']): string[] {
  return protocol === '1.1' ? ['http/1.1'] : protocol === '2' ? ['h2'] : ['h2', 'http/1.1'];
}
