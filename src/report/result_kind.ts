// What a result document measured. A file of its own so that the parts of a result
// (client_cost.ts) can name it without importing result.ts, which imports them.

export type ResultKind = 'handshake' | 'throughput' | 'pingpong' | 'connections' | 'http';
export const RESULT_KINDS: readonly ResultKind[] = ['handshake', 'throughput', 'pingpong', 'connections', 'http'];
