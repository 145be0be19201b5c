// sockaddr_in / sockaddr_in6 encoding, shared by the Linux and Windows bindings: the layouts
// are the same (BSD), only the AF_INET6 value differs (10 on Linux, 23 on Windows).
export const AF_INET = 2;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;

/** Fills a sockaddr_in/sockaddr_in6 in `dst` (at least 28 bytes); returns its length. */
export function encodeSockaddr(dst: Uint8Array, ip: string, port: number, afInet6: number): number {
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  dst.fill(0, 0, SOCKADDR_IN6_SIZE);
  if (ip.includes(':')) {
    dv.setUint16(0, afInet6, true);
    dv.setUint16(2, port, false);
    dst.set(parseIPv6(ip), 8);
    return SOCKADDR_IN6_SIZE;
  }
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !(x >= 0 && x <= 255))) throw new Error(`not an IPv4 address: ${ip}`);
  dv.setUint16(0, AF_INET, true);
  dv.setUint16(2, port, false);
  dst.set(parts, 4);
  return SOCKADDR_IN_SIZE;
}

export function decodeSockaddr(src: Uint8Array, afInet6: number): { family: 4 | 6; ip: string; port: number } {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const port = dv.getUint16(2, false);
  if (dv.getUint16(0, true) === afInet6) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(dv.getUint16(8 + i * 2, false).toString(16));
    const s = groups.join(':');
    const m = s.match(/(^|:)0(:0)+(:|$)/);
    return { family: 6, ip: m ? s.replace(m[0], '::') : s, port };
  }
  return { family: 4, ip: Array.from(src.subarray(4, 8)).join('.'), port };
}

function parseIPv6(ip: string): Uint8Array {
  const out = new Uint8Array(16);
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (tail === undefined && h.length !== 8) throw new Error(`not an IPv6 address: ${ip}`);
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    if (!(v >= 0 && v <= 0xffff)) throw new Error(`not an IPv6 address: ${ip}`);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}
