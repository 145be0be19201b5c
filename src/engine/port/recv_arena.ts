// The receive-buffer half of CompletionPort that every backend shares: an arena of native
// buffers that prepRecvSelect completions name by id (io_uring adds its provided buffer ring on
// top, overriding what the ring changes), and what the port says about them.
import { BufferArena } from '../buffer_pool';
import type { PortMemory, RecvMode } from './types';

/** Bytes per receive buffer: several full TLS records per receive for bulk; a quiet receive touches one page of it. */
export const RECV_BUFFER_SIZE = 64 * 1024;

export abstract class RecvArenaPort {
  abstract readonly recvMode: RecvMode;
  readonly recvBufferSize = RECV_BUFFER_SIZE;
  protected readonly arena = new BufferArena(RECV_BUFFER_SIZE);

  /** Address of a buffer a prepRecvSelect completion named; valid until releaseRecvBuffer. */
  recvBuffer(id: number): bigint {
    return this.arena.address(id);
  }

  releaseRecvBuffer(id: number): void {
    this.arena.give(id);
  }

  memory(): PortMemory {
    return { recvMode: this.recvMode, recvBuffers: this.arena.stats() };
  }

  trim(discard: boolean): number {
    return this.arena.trim(discard);
  }
}
