// Shards that meet before they start (--shard I/N --rendezvous HOST:PORT): shard 0 hosts, the
// others join; every shard gets one start instant, and shard 0 gets every shard's result.
// protocol.ts is the wire format, host.ts shard 0's side, member.ts the others'.
export { RendezvousError } from './common';
export type { RendezvousOptions } from './common';
export { RendezvousHost } from './host';
export type { Collected } from './host';
export { RendezvousMember } from './member';
