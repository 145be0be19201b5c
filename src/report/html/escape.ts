// HTML that is safe by construction. A result document is untrusted input (a file from a CI
// artifact, a colleague, the internet): every value that reaches the page goes through the `h`
// template tag, which escapes whatever is interpolated unless it is already Html built the
// same way. Markup can only come from literal template text in this code.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text escaped for an element's content or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A fragment of markup known to be safe (built by `h`, or by `raw` from constant text). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.text;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

/** Template tag: literal parts are markup, interpolated values are escaped (arrays joined, null/undefined/false dropped). */
export function h(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Marks constant markup (a stylesheet, a generated number) as safe. Never pass document data. */
export function raw(text: string): Html {
  return new Html(text);
}

export function joinHtml(parts: readonly HtmlValue[], separator = ''): Html {
  return new Html(parts.map(render).filter((s) => s !== '').join(separator));
}
