// Child process of startTraceServer: a Node.js TLS server on 127.0.0.1:0 with enableTrace
// (OpenSSL's SSL_trace, written to stderr). Prints 'PORT n' on stdout once listening; reads
// and discards what clients send; exits on SIGTERM once its trace is flushed.
import fs from 'node:fs';
import tls from 'node:tls';

const o = JSON.parse(process.argv[2]) as { cert: string; key: string; groups?: string; maxVersion?: tls.SecureVersion };
const server = tls.createServer(
  {
    cert: fs.readFileSync(o.cert),
    key: fs.readFileSync(o.key),
    enableTrace: true,
    ecdhCurve: o.groups ?? 'auto',
    maxVersion: o.maxVersion,
  },
  (s) => {
    s.on('error', () => {});
    s.resume();
  }
);
server.on('tlsClientError', () => {});
server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => process.exit(0));
