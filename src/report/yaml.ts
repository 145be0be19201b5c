// A small YAML emitter for plain data (objects, arrays, strings, numbers, booleans, null): block
// style for people to read, every string double-quoted with JSON's escapes (a double-quoted YAML
// scalar accepts them), so no value can turn into another type or break the layout.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`YAML: cannot write the number ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  // JSON leaves U+2028/U+2029 as they are; YAML 1.1 readers take them for line breaks.
  return JSON.stringify(v).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function key(k: string): string {
  return PLAIN_KEY.test(k) ? k : scalar(k);
}

function isEmpty(v: YamlValue): boolean {
  return Array.isArray(v) ? v.length === 0 : typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

function isCollection(v: YamlValue): v is YamlValue[] | { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && !isEmpty(v);
}

function lines(v: YamlValue, indent: string): string[] {
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const item of v) {
      if (!isCollection(item)) {
        out.push(`${indent}- ${inline(item)}`);
        continue;
      }
      // The item's first line goes after the dash; the rest line up under it.
      const [head, ...rest] = lines(item, indent + '  ');
      out.push(`${indent}- ${head.slice(indent.length + 2)}`, ...rest);
    }
    return out;
  }
  if (typeof v === 'object' && v !== null) {
    const out: string[] = [];
    for (const [k, val] of Object.entries(v)) {
      if (isCollection(val)) out.push(`${indent}${key(k)}:`, ...lines(val, indent + '  '));
      else out.push(`${indent}${key(k)}: ${inline(val)}`);
    }
    return out;
  }
  return [indent + scalar(v)];
}

function inline(v: YamlValue): string {
  if (Array.isArray(v)) return '[]';
  if (typeof v === 'object' && v !== null) return '{}';
  return scalar(v);
}

/** The YAML text of `value`, ending with a newline. */
export function toYaml(value: YamlValue): string {
  return (isCollection(value) ? lines(value, '') : [inline(value)]).join('\n') + '\n';
}
