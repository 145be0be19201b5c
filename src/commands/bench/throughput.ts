import { Flags } from '@oclif/core';
import { BenchCommand, benchArgs, commonBenchFlags } from '../../cli/bench_command';
import type { Direction } from '../../engine/apps/bulk_client';
import type { ResultDocument } from '../../report/result';

export default class BenchThroughput extends BenchCommand {
  static summary = 'Measure bulk TLS throughput, or round-trip latency with --pingpong.';
  static description = [
    '--direction up sends to a sink server, down receives from a source server, both sends to an echo ' +
      'server and reads it back; it reports Gbit/s in all and per connection. --pingpong SIZE sends SIZE bytes and ' +
      'waits for them to come back from an echo server, as fast as possible (or at --rate round trips per second, ' +
      'open loop), and reports the round-trip latency histogram. Without a target, the embedded server runs the ' +
      'matching mode.',
    'See docs/commands/bench.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> bench throughput',
    '<%= config.bin %> bench throughput 127.0.0.1:4433 --direction up -c 4',
    '<%= config.bin %> bench throughput --pingpong 64 -c 8',
  ];
  static args = benchArgs;
  static flags = {
    ...commonBenchFlags,
    direction: Flags.option({ description: 'data direction', options: ['up', 'down', 'both'] as const, default: 'down' as const })(),
    size: Flags.integer({ description: 'bytes per write (up/both)', default: 16384, min: 1, max: 16384 }),
    pingpong: Flags.integer({ description: 'ping-pong with messages of this many bytes against an echo server', min: 1, max: 16 * 1024 * 1024 }),
    rate: Flags.integer({
      description: 'ping-pong: open loop, this many round trips per second over all connections, latency from each intended send time',
      min: 1,
      dependsOn: ['pingpong'],
    }),
  };

  async run(): Promise<ResultDocument> {
    const { args, flags } = await this.parse(BenchThroughput);
    const kind = flags.pingpong ? 'pingpong' : 'throughput';
    return this.runBenchFrom(kind, args.target, flags, {
      connections: flags.connections ?? 1,
      direction: (flags.pingpong ? 'both' : flags.direction) as Direction,
      size: flags.size,
      pingpongSize: flags.pingpong ?? 0,
      rate: flags.rate ?? 0,
    });
  }
}
