// The requests bench http sends over HTTP/1.1, built once per run and path: a request is then
// one prepared buffer handed to the session, never formatted again.

export interface RequestSpec {
  method: string;
  /** Request targets (origin-form, "/..."), used in turn. */
  paths: readonly string[];
  /** Host header (and :authority for h2). */
  authority: string;
  /** Extra header lines, as given (a Host among them replaces ours). */
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Uint8Array;
}

/** One complete HTTP/1.1 request per path of the spec, in the spec's order. */
export function buildH1Requests(spec: RequestSpec): Buffer[] {
  const hasHost = spec.headers.some(([k]) => k.toLowerCase() === 'host');
  const hasLength = spec.headers.some(([k]) => k.toLowerCase() === 'content-length');
  const lines: string[] = [];
  if (!hasHost) lines.push(`Host: ${spec.authority}`);
  for (const [k, v] of spec.headers) lines.push(`${k}: ${v}`);
  const body = spec.body && spec.body.length > 0 ? spec.body : undefined;
  // A body needs its length; a POST without one says 0, as curl does.
  if (!hasLength && (body || spec.method === 'POST' || spec.method === 'PUT')) lines.push(`Content-Length: ${body?.length ?? 0}`);
  const tail = lines.map((l) => l + '\r\n').join('') + '\r\n';
  return spec.paths.map((p) => {
    const head = Buffer.from(`${spec.method} ${p} HTTP/1.1\r\n${tail}`, 'latin1');
    return body ? Buffer.concat([head, body]) : head;
  });
}
