import { BenchCommand, benchArgs, commonBenchFlags } from '../../cli/bench_command';
import { handshakeFlags, handshakeOptions } from '../../cli/handshake_flags';
import type { ResultDocument } from '../../report/result';

export default class Bench extends BenchCommand {
  static summary = 'Benchmark TLS handshakes, as `bench handshake` does (flags and all).';
  static description = [
    'The same as `bench handshake`: without a target, against an embedded server on 127.0.0.1. ' +
      '`bench throughput` measures bulk transfer, `bench connections` connection capacity, and `bench ab` compares ' +
      'two sides in alternating rounds.',
    'See docs/commands/bench.md.',
  ].join('\n\n');
  static examples = ['<%= config.bin %> bench', '<%= config.bin %> bench 127.0.0.1:4433 -c 64 --json > a.json'];
  static args = benchArgs;
  static flags = { ...commonBenchFlags, ...handshakeFlags };

  async run(): Promise<ResultDocument> {
    const { args, flags } = await this.parse(Bench);
    return this.runBenchFrom('handshake', args.target, flags, handshakeOptions(flags));
  }
}
