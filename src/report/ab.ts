// `bench ab`: the document of an interleaved A/B run (both sides' result documents, the order the
// rounds ran in, and compare's comparison of B against A) and its rendering, which is compare's
// with the sides named A and B.
import type { Comparison } from './compare';
import { detectableLine, methodLine, renderComparisonMarkdown, renderComparisonTable, verdictLines } from './compareRender';
import type { MachineInfo, OpensslInfo, ToolInfo } from './facts';
import type { ResultDocument } from './result';
import { formatRate } from './units';

export const AB_SCHEMA = 'iocptls.ab/1';

export type AbSideName = 'A' | 'B';

/** One measured round of one side, in the order they ran. */
export interface AbSlot {
  side: AbSideName;
  /** 0-based round of that side. */
  round: number;
  /** The round's measured window (ISO 8601). */
  start: string;
  finish: string;
}

export interface AbSideRecord {
  /** HOST:PORT as given, null for an embedded server of its own. */
  target: string | null;
  /** The side's own flags (--a-flags / --b-flags) as given, '' for none. */
  flags: string;
  /** The side's result document: every round of it, as `bench --rounds N --json` writes one. */
  document: ResultDocument;
}

export interface AbDocument {
  schema: typeof AB_SCHEMA;
  tool: ToolInfo;
  openssl: OpensslInfo;
  machine: MachineInfo;
  backend: string;
  kind: 'handshake';
  params: {
    /** Rounds per side. */
    rounds: number;
    order: 'ABBA';
    durationPerRound: number;
    warmupPerRound: number;
    roundPause: number;
    threshold: number;
    alpha: number;
    /** --inconclusive: what an inconclusive comparison exits with. */
    inconclusive: 'exit' | 'pass' | 'fail';
  };
  a: AbSideRecord;
  b: AbSideRecord;
  schedule: AbSlot[];
  /** B compared with A, as `compare A.json B.json` would (A is the base). */
  comparison: Comparison;
  interrupted?: { signal: string };
}

const HEADINGS = ['A', 'B'] as const;

/** 'embedded server, -c 1' / '127.0.0.1:8443, --groups X25519' */
export function sideLabel(s: AbSideRecord): string {
  const where = s.target ?? 'embedded server';
  return s.flags ? `${where}, ${s.flags}` : where;
}

/** The order the rounds ran in: 'A B B A A B B A'. */
export function orderLine(doc: AbDocument): string {
  return doc.schedule.map((s) => s.side).join(' ');
}

/** Each side's rounds' rates, in round order: how far the machine moved while the comparison ran. */
function roundRates(d: ResultDocument): string {
  return (d.rounds ?? []).map((r) => formatRate(r.duration > 0 ? r.totals.handshakes / r.duration : 0)).join(' ');
}

export function renderAb(doc: AbDocument, o: { color: boolean; markdown?: boolean }): string {
  const cmp = doc.comparison;
  const names = { base: sideLabel(doc.a), next: sideLabel(doc.b) };
  if (o.markdown) return renderComparisonMarkdown(cmp, names, { title: 'iocptls bench ab', headings: HEADINGS });
  const p = doc.params;
  const lines = [
    `iocptls bench ab: ${doc.kind}, ${p.rounds} rounds per side of ${p.warmupPerRound ? `${p.warmupPerRound}+` : ''}${p.durationPerRound} s, ${p.roundPause} s apart, in the order ${orderLine(doc)}`,
    `  A: ${names.base}`,
    `     rounds: ${roundRates(doc.a.document)}`,
    `  B: ${names.next}`,
    `     rounds: ${roundRates(doc.b.document)}`,
    '',
    renderComparisonTable(cmp, { color: o.color, headings: HEADINGS }).trimEnd(),
    '',
    methodLine(cmp),
    ...(detectableLine(cmp) ? [detectableLine(cmp)!] : []),
    ...cmp.notes.map((n) => `Note: ${n}`),
    ...verdictLines(cmp, 'B against A'),
  ];
  return lines.join('\n');
}
