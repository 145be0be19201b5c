import { BenchCommand, benchArgs, commonBenchFlags } from '../../cli/bench_command';
import { handshakeFlags, handshakeOptions } from '../../cli/handshake_flags';
import type { ResultDocument } from '../../report/result';

export default class BenchHandshake extends BenchCommand {
  static summary = 'Load-test TLS handshakes: rate, handshake and connect latency histograms, errors by reason.';
  static description = `Closed loop by default: each of -c connections handshakes, closes and starts again. With --rate,
open loop at a constant rate with coordinated-omission correction (as wrk2). Without a target, benchmarks the
embedded server on 127.0.0.1 (serve's engine, its own workers).`;
  static examples = [
    '<%= config.bin %> bench handshake',
    '<%= config.bin %> bench handshake 127.0.0.1:4433 -c 64 -d 10 --json > a.json',
    '<%= config.bin %> bench handshake 127.0.0.1:4433 --resume tickets --resume-ratio 0.5',
    '<%= config.bin %> bench handshake 127.0.0.1:4433 --rate 2000 -d 20 --hgrm hs.hgrm',
  ];
  static args = benchArgs;
  static flags = { ...commonBenchFlags, ...handshakeFlags };

  async run(): Promise<ResultDocument> {
    const { args, flags } = await this.parse(BenchHandshake);
    return this.runBenchFrom('handshake', args.target, flags, handshakeOptions(flags));
  }
}
