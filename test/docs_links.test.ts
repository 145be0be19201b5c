// Every relative link and #anchor in README.md and docs/**/*.md resolves (scripts/docs-links.js),
// so moving a section between pages cannot leave a link behind.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT } from './helpers/cli';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { check, slug } = require(path.join(ROOT, 'scripts', 'docs-links.js')) as {
  check(): { broken: string[]; count: number };
  slug(heading: string): string;
};

describe('docs links', () => {
  it('anchors are made as GitHub makes them', () => {
    assert.equal(slug('Post-quantum TLS (OpenSSL 3.5: Node.js 22 and 24)'), 'post-quantum-tls-openssl-35-nodejs-22-and-24');
    assert.equal(slug('`handshakeBytes` (optional)'), 'handshakebytes-optional');
  });

  it('every relative link and anchor in README.md and docs/ resolves', () => {
    const { broken, count } = check();
    assert.ok(count > 50, `only ${count} relative links found`);
    assert.deepEqual(broken, []);
  });
});
