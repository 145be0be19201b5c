// Key log files (NSS format, for Wireshark): only when asked, by flag or SSLKEYLOGFILE.
import fs from 'node:fs';
import { ConfigError } from '../engine/errors';
import { fsReason } from './files';

export interface KeylogSink {
  path: string;
  /** The open descriptor (O_APPEND): serve's workers write to it from their threads. */
  fd: number;
  write: (line: string) => void;
  close: () => void;
}

export function openKeylog(flag?: string): KeylogSink | undefined {
  const path = flag ?? process.env.SSLKEYLOGFILE;
  if (!path) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(path, 'a', 0o600);
  } catch (e) {
    // Named by where the path came from: the flag, or the environment variable a user may have forgotten about.
    const from = flag !== undefined ? `--keylog ${path}` : `SSLKEYLOGFILE=${path}`;
    throw new ConfigError(`${from}: cannot open the key log file: ${fsReason(e)}`);
  }
  return {
    path,
    fd,
    write: (line: string) => fs.writeSync(fd, line + '\n'),
    close: () => fs.closeSync(fd),
  };
}
