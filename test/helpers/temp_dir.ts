// A directory under the system's temporary one for the length of one test, removed after it
// whether the test passed or not (CI machines run the suite three times; what is left adds up).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export async function withTempDir<T>(prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await use(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
