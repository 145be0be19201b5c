// Loaded into each mocha process by scripts/run-tests.js (--require): when the process exits it
// writes the CPU seconds it used, its own and its reaped children's (the CLI runs and servers a
// test file starts), to the file IOCPTLS_TEST_CPU_FILE names, so the run can list the files that
// cost the machine most, not only the ones that took longest.
'use strict';
const fs = require('node:fs');

const file = process.env.IOCPTLS_TEST_CPU_FILE;
if (file && process.platform === 'linux') {
  process.on('exit', () => {
    try {
      // /proc/self/stat fields 14-17: utime, stime, cutime, cstime in clock ticks (after the
      // command name, which may hold spaces, hence the split after its closing parenthesis).
      const stat = fs.readFileSync('/proc/self/stat', 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = [11, 12, 13, 14].reduce((n, i) => n + Number(f[i]), 0);
      fs.writeFileSync(file, String(ticks / 100));
    } catch {
      // CPU figures are information; a run never fails for want of them
    }
  });
}
