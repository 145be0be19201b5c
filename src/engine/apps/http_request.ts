// Parsing one HTTP/1.x request head: lenient where real clients differ, strict where leniency
// would be a hazard. Lines may end in CRLF or a bare LF (RFC 9112 §2.2: test tools and `printf`
// send LF); empty lines before the request line are skipped (§2.2). Header names must be tokens
// with no space before the colon (§5.1), obsolete line folding is refused (§5.2), and a
// Content-Length must be digits and agree with any other Content-Length (§6.3): anything else
// is a 400, as nginx answers. Host is not required of HTTP/1.1 requests (hand-written ones omit it).

const LF = 0x0a;
const CR = 0x0d;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;

/** Where a head ends in `buf[from..to)`: the index of the empty line's LF + 1, or -1 when incomplete. */
export function findHeadEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (buf[i] !== LF) continue;
    // An empty line: LF LF, or LF CR LF.
    if (i + 1 < to && buf[i + 1] === LF) return i + 2;
    if (i + 2 < to && buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** Leading empty lines (CRLF or LF) before a request line: how many bytes to skip at `from`. */
export function skipEmptyLines(buf: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to && (buf[i] === LF || (buf[i] === CR && i + 1 < to && buf[i + 1] === LF))) i += buf[i] === LF ? 1 : 2;
  return i - from;
}

export interface RequestHead {
  method: string;
  target: string;
  minor: 0 | 1;
  keepAlive: boolean;
  contentLength: number;
  chunked: boolean;
}

export type ParseResult = { ok: true; head: RequestHead } | { ok: false; why: string };

/** Parses a complete head (request line and header lines, without the final empty line). */
export function parseRequestHead(text: string): ParseResult {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const m = REQUEST_LINE.exec(lines[0] ?? '');
  if (!m) return { ok: false, why: 'bad request line' };
  const minor = m[3] === '1' ? 1 : 0;
  let connection = '';
  let contentLength = -1;
  let chunked = false;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (l[0] === ' ' || l[0] === '\t') return { ok: false, why: 'obsolete line folding' };
    const c = l.indexOf(':');
    if (c <= 0) return { ok: false, why: 'header line without a name' };
    const name = l.slice(0, c);
    if (!TOKEN.test(name)) return { ok: false, why: 'bad header name' };
    const value = l.slice(c + 1).trim();
    switch (name.toLowerCase()) {
      case 'connection':
        connection += `,${value.toLowerCase()}`;
        break;
      case 'content-length': {
        if (!/^\d{1,15}$/.test(value)) return { ok: false, why: 'bad content-length' };
        const n = Number(value);
        if (contentLength >= 0 && n !== contentLength) return { ok: false, why: 'conflicting content-length' };
        contentLength = n;
        break;
      }
      case 'transfer-encoding':
        chunked = true;
        break;
    }
  }
  const tokens = connection.split(',').map((t) => t.trim());
  const keepAlive = minor === 1 ? !tokens.includes('close') : tokens.includes('keep-alive');
  return { ok: true, head: { method: m[1], target: m[2], minor, keepAlive, contentLength: Math.max(0, contentLength), chunked } };
}
