// Flags of `bench handshake` (and of `bench`, which is the same run with its defaults).
import { Flags } from '@oclif/core';
import type { BenchOptions } from '../engine/bench';
import { ConfigError } from '../engine/errors';

export const handshakeFlags = {
  count: Flags.integer({ char: 'n', description: 'stop after this many handshakes (instead of --duration)', min: 1 }),
  rate: Flags.integer({ description: 'open loop: start this many handshakes per second, latency measured from each intended start', min: 1 }),
  resume: Flags.option({
    description: 'resume sessions: tickets (TLS 1.3 waits for the ticket before closing), or ids (TLS 1.2 session IDs: the client refuses tickets)',
    options: ['none', 'tickets', 'ids'] as const,
    default: 'none' as const,
  })(),
  'resume-ratio': Flags.string({ description: 'fraction of handshakes that resume, 0..1', default: '1' }),
  close: Flags.option({ description: 'how the client closes: rst (no TIME-WAIT, like tls-perf) or fin (close_notify + FIN)', options: ['rst', 'fin'] as const, default: 'rst' as const })(),
};

export function handshakeOptions(f: Record<string, any>): Partial<BenchOptions> {
  const ratio = Number(f['resume-ratio']);
  if (!(ratio >= 0 && ratio <= 1) || f['resume-ratio'].trim() === '') throw new ConfigError(`--resume-ratio must be a number from 0 to 1, not '${f['resume-ratio']}'`);
  if (f.rate && f.count) throw new ConfigError('--rate runs for --duration; leave out --count');
  if (f.resume === 'ids' && f['tls-min'] === '1.3') throw new ConfigError('--resume ids resumes TLS 1.2 session IDs; TLS 1.3 resumes with tickets only (--resume tickets)');
  return {
    connections: f.connections ?? (f.rate ? 1000 : 32),
    rate: f.rate ?? 0,
    resume: f.resume,
    resumeRatio: ratio,
    close: f.close,
  };
}
