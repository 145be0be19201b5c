// --shard I/N and --start-at TIME: one process's share of a run spread over processes or machines,
// and the instant they all begin (or the rendezvous that agrees on it: --rendezvous). Kubernetes' Indexed Job numbers its pods 0..N-1 in
// JOB_COMPLETION_INDEX, hence 0-based shards and `auto`.
import { Flags } from '@oclif/core';
import { share } from '../engine/bench';
import { ConfigError } from '../engine/errors';

export const shardFlags = {
  shard: Flags.string({
    description: 'run share I of N (I from 0; auto/N reads I from JOB_COMPLETION_INDEX): -c, --rate and -n are split so the N shares add up to the whole',
    helpValue: 'I/N',
  }),
  'start-at': Flags.string({
    description: 'begin at this wall-clock time, warmup included (epoch ms, or ISO 8601 with a zone): shards given one time start together',
    helpValue: 'TIME',
  }),
  rendezvous: Flags.string({
    description:
      'meet the other shards before starting, instead of --start-at: shard 0 listens on HOST:PORT, the others connect to it (retrying until --rendezvous-timeout); when all N are in, shard 0 announces one start a moment ahead, and when the run is over every shard sends its result to shard 0, which prints the merged result (as `iocptls merge` would) and fails if a shard is missing',
    helpValue: 'HOST:PORT',
  }),
  'rendezvous-bind': Flags.string({
    description: 'shard 0 only: the address it listens on, when not the --rendezvous host (0.0.0.0 in a Kubernetes pod, whose DNS name other pods use) [default: the --rendezvous host]',
    helpValue: 'ADDRESS',
  }),
  'rendezvous-timeout': Flags.integer({
    description: 'seconds from this shard\'s start until every shard has joined and is ready; then each waiting shard fails, naming the missing ones',
    default: 120,
    min: 1,
    max: 86400,
    helpValue: 'SECONDS',
  }),
};

export interface Shard {
  index: number;
  count: number;
}

/** The largest N: a typo guard (--shard 0/40000) more than a limit anyone should meet. */
const MAX_SHARDS = 10_000;

/** 'I/N' or 'auto/N' (I from `env.JOB_COMPLETION_INDEX`). */
export function parseShard(value: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw new ConfigError(`--shard must be I/N (I from 0, e.g. 0/4) or auto/N, not '${value}'`);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new ConfigError(`--shard ${value}: N must be 1 to ${MAX_SHARDS}`);
  let index: number;
  if (m[1] === 'auto') {
    const raw = env.JOB_COMPLETION_INDEX;
    if (raw === undefined || raw.trim() === '') {
      throw new ConfigError(`--shard auto/${count} reads the shard from JOB_COMPLETION_INDEX, which is not set (a Kubernetes Indexed Job sets it)`);
    }
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`JOB_COMPLETION_INDEX='${raw}' is not a shard number (0..${count - 1}) for --shard auto/${count}`);
    index = Number(raw.trim());
  } else index = Number(m[1]);
  if (index >= count) throw new ConfigError(`--shard ${m[1] === 'auto' ? `auto/${count} (JOB_COMPLETION_INDEX=${index})` : value}: shards count from 0, so I must be 0..${count - 1}`);
  return { index, count };
}

export interface Load {
  connections: number;
  /** 0: closed loop. */
  rate: number;
  /** 0: run for the duration. */
  count: number;
}

/**
 * This shard's share of the whole load: each quantity split so the N shares differ by at most one
 * and add up exactly to the whole. Every shard must get some of each, or it would run a different
 * kind of load (a rate of 0 is a closed loop, a count of 0 a timed run).
 */
export function shardLoad(whole: Load, s: Shard): Load {
  const part = (n: number, what: string): number => {
    // Checked for all shards, not only this one: every shard of a run must refuse it alike.
    if (n > 0 && n < s.count) throw new ConfigError(`--shard ${s.index}/${s.count}: ${what} ${n} cannot be split ${s.count} ways (each shard needs at least 1)`);
    return share(n, s.count, s.index);
  };
  return { connections: part(whole.connections, '-c'), rate: part(whole.rate, '--rate'), count: part(whole.count, '-n') };
}

/** A start time further back than this is refused; within it, the run starts at once and records how late. */
export const START_GRACE_MS = 1000;
/** A start time further ahead than this is taken for a mistake. */
const START_HORIZON_MS = 24 * 3600 * 1000;

/** The largest epoch milliseconds a JavaScript Date holds (ECMA-262 TimeClip). */
const MAX_DATE_MS = 8.64e15;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Epoch milliseconds of --start-at (epoch ms or ISO 8601 with a zone), checked against `nowMs`. */
export function parseStartAt(value: string, nowMs: number = Date.now()): number {
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) {
    ms = Number(v);
    if (ms < 1e11) throw new ConfigError(`--start-at ${v} looks like epoch seconds: give milliseconds (${v}000) or an ISO 8601 time`);
  } else if (ISO.test(v)) {
    ms = Date.parse(v);
    if (!Number.isFinite(ms)) throw new ConfigError(`--start-at '${value}' is not a valid time`);
  } else if (/^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(v)) {
    throw new ConfigError(`--start-at '${value}' needs a time zone (Z or +hh:mm): every machine must read it as the same instant`);
  } else {
    throw new ConfigError(`--start-at must be epoch milliseconds or an ISO 8601 time such as 2030-01-01T12:00:00Z, not '${value}'`);
  }
  // Beyond what a Date can hold (±8.64e15 ms), toISOString() would throw "Invalid time value".
  if (!(Math.abs(ms) <= MAX_DATE_MS)) throw new ConfigError(`--start-at ${v} is not a time a clock can read (epoch milliseconds up to ${MAX_DATE_MS})`);
  const ago = nowMs - ms;
  if (ago > START_GRACE_MS) {
    throw new ConfigError(`--start-at ${new Date(ms).toISOString()} was ${(ago / 1000).toFixed(1)} s ago (a start up to ${START_GRACE_MS / 1000} s late is allowed): give a later time`);
  }
  if (-ago > START_HORIZON_MS) throw new ConfigError(`--start-at ${new Date(ms).toISOString()} is more than 24 h away: is it the right time?`);
  return ms;
}
