// The completion ports a test runs on: every backend this platform has, and io_uring once more
// without its provided buffer ring (the fallback for kernels before 5.19).
import { availableBackends, createPort } from '../../src/engine/port/index';
import { IoUringPort } from '../../src/engine/port/io_uring';
import type { Backend, CompletionPort } from '../../src/engine/port/types';

export interface PortVariant {
  name: string;
  backend: Backend;
  make: () => CompletionPort;
}

export function portVariants(): PortVariant[] {
  return availableBackends().flatMap((backend) => {
    const v: PortVariant[] = [{ name: backend, backend, make: () => createPort(backend) }];
    if (backend === 'io_uring') v.push({ name: 'io_uring without provided buffers', backend, make: () => new IoUringPort({ providedBuffers: false }) });
    return v;
  });
}
