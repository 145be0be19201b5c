// YAML for people to read (the k8s-job manifest), written by js-yaml: block style, each string
// on one line however long, and quoted wherever a YAML 1.1 reader (kubectl's) could take it for
// another type ('yes', 'on', '0x10', '~') or for YAML syntax; U+2028/U+2029 are escaped.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

/** The part of js-yaml used here (it ships no type declarations, and @types/js-yaml is not a dependency). */
interface JsYaml {
  dump(value: unknown, options: { lineWidth: number; noRefs: boolean; quotingType: '"' | "'" }): string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jsYaml: JsYaml = require('js-yaml');

/** The YAML text of `value`, ending with a newline. */
export function toYaml(value: YamlValue): string {
  return jsYaml.dump(value, { lineWidth: -1, noRefs: true, quotingType: '"' });
}
