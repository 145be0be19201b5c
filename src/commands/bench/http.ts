import { BenchCommand, commonBenchFlags } from '../../cli/bench_command';
import { httpFlags, httpOptions, parseHttpTarget } from '../../cli/http_flags';
import { Args } from '@oclif/core';
import type { ResultDocument } from '../../report/result';

export default class BenchHttp extends BenchCommand {
  static summary = 'Load-test HTTPS requests over HTTP/1.1 and HTTP/2: requests/s, latency, status.';
  static description = [
    'Each of -c connections carries requests as fast as the server answers them (closed loop: --pipeline requests in flight on HTTP/1.1, ' +
      '--streams on HTTP/2), or with --rate at fixed intended send times over all connections (open loop, latency from each intended ' +
      'send time, as wrk2). --http auto offers h2 and http/1.1 by ALPN and speaks what the server picks. --requests-per-connection N ' +
      'replaces each connection after N requests, with a full or (--resume) resumed handshake: the handshake share of a real workload.',
    'Responses with a status other than --expect-status (any 2xx by default) are counted by code and as failed requests; resets, ' +
      'timeouts (--timeout without a byte from the server while requests are in flight), malformed responses, HTTP/2 stream resets ' +
      'and GOAWAY are counted by reason. Without a target, benchmarks the embedded server (serve --mode http) on 127.0.0.1.',
    'See docs/commands/bench-http.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> bench http',
    '<%= config.bin %> bench http https://127.0.0.1:8443/index.html -c 16 -d 10',
    '<%= config.bin %> bench http 127.0.0.1:8443 --http 2 -c 4 -m 32 --json > h2.json',
    '<%= config.bin %> bench http https://127.0.0.1:8443/ --rate 5000 -c 64 --hgrm req.hgrm',
    '<%= config.bin %> bench http https://127.0.0.1:8443/ --requests-per-connection 100 --resume tickets',
  ];
  static args = {
    target: Args.string({ description: 'https://HOST[:PORT]/PATH or HOST:PORT to benchmark [default: an embedded server on 127.0.0.1]' }),
  };
  static flags = { ...commonBenchFlags, ...httpFlags };

  async run(): Promise<ResultDocument> {
    const { args, flags } = await this.parse(BenchHttp);
    const target = parseHttpTarget(args.target);
    return this.runBenchFrom('http', target.hostPort, flags, httpOptions(flags, target));
  }
}
