// Lengths of time on the command line (-d, --warmup, serve -d): seconds or a number with a unit.
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../src/cli/duration_flag';

describe('durations on the command line', () => {
  it('reads seconds, fractions and the units wrk and h2load take', () => {
    const cases: [string, number][] = [
      ['8', 8],
      ['1.5', 1.5],
      ['.5', 0.5],
      ['500ms', 0.5],
      ['700ms', 0.7],
      ['30s', 30],
      ['2m', 120],
      ['1h', 3600],
      [' 2 s ', 2],
      ['0', 0],
    ];
    for (const [text, seconds] of cases) assert.equal(parseDuration(text), seconds, text);
  });

  it('refuses what is not a length of time', () => {
    for (const text of ['', 'x', '-1', '1e3', '2d', '1.2.3', 's', '5 ms s', 'Infinity']) assert.equal(parseDuration(text), undefined, text);
  });

  it('reads back without float noise', () => {
    assert.equal(formatDuration(0.1), '0.1 s');
    assert.equal(formatDuration(2), '2 s');
    assert.equal(formatDuration(604800), '604800 s');
  });
});
