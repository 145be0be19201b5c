// One cli-table3 factory for every report table. cli-table3 colours heads and borders by
// itself whenever @colors/colors happens to be installed; we switch that off and colour
// cells through Paint, so color=false really means no escape codes.

import Table from 'cli-table3';
import { Paint } from './ansi';

export type Align = 'left' | 'right';

export function makeTable(head: string[], p: Paint, aligns?: Align[]): Table.Table {
  return new Table({
    head: head.map((h) => p.cyan(h)),
    colAligns: aligns ?? head.map((_, i) => (i === 0 ? 'left' : 'right')),
    style: { head: [], border: [] },
  });
}
