// --bind ADDR[,ADDR...]: the local addresses outgoing connections come from, taken in turn. One
// source address gives about 28k ephemeral ports per destination; several give that many each.
import dgram from 'node:dgram';
import net from 'node:net';
import { Flags } from '@oclif/core';
import { ConfigError } from '../engine/errors';

export const bindFlag = {
  bind: Flags.string({
    description: 'connect from these local addresses, in turn (comma-separated): more ephemeral ports, several client addresses',
    helpValue: 'ADDR[,ADDR...]',
  }),
};

/**
 * The addresses of --bind, checked before anything connects: each an IP address of the target's
 * family that this machine has (else bind would fail with EADDRNOTAVAIL on every connection).
 */
export async function parseBind(value: string | undefined, targetIp: string): Promise<string[] | undefined> {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim().replace(/^\[(.*)\]$/, '$1'));
  if (items.some((s) => s === '')) throw new ConfigError(`--bind '${value}': an empty address in the list`);
  const family = net.isIP(targetIp);
  for (const ip of items) {
    const f = net.isIP(ip);
    if (f === 0) throw new ConfigError(`--bind ${ip}: not an IP address`);
    if (f !== family) throw new ConfigError(`--bind ${ip} is IPv${f} but the target ${targetIp} is IPv${family}`);
  }
  for (const ip of new Set(items)) await checkLocal(ip, family as 4 | 6);
  return items;
}

/** Whether this machine has `ip`: binding a UDP socket to it fails with EADDRNOTAVAIL when it does not. */
function checkLocal(ip: string, family: 4 | 6): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    s.once('error', (e: NodeJS.ErrnoException) => {
      s.close();
      const why = e.code === 'EADDRNOTAVAIL' ? 'not an address of this machine (EADDRNOTAVAIL)' : (e.code ?? e.message);
      reject(new ConfigError(`--bind ${ip}: ${why}`));
    });
    s.bind({ address: ip, port: 0, exclusive: true }, () => {
      s.close();
      resolve();
    });
  });
}
