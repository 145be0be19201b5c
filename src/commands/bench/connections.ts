import { Flags } from '@oclif/core';
import { BenchCommand, benchArgs, commonBenchFlags } from '../../cli/bench_command';
import { ConfigError } from '../../engine/errors';
import type { ResultDocument } from '../../report/result';

export default class BenchConnections extends BenchCommand {
  static summary = 'Measure connection capacity: open N TLS connections at a ramp rate, hold them.';
  static description = [
    'Opens -c TLS connections at --ramp per second (open loop: connection i is due at i/ramp s), holds ' +
      'them for -d seconds once every one was tried, and closes them with close_notify. With --message-size S each ' +
      'connection sends S bytes every --interval ms to an echo server and the round trip is measured from the intended send ' +
      'time (coordinated-omission corrected, as ping-pong --rate). Reports the most connections held at once, the ramp time, ' +
      'failures by reason, the client\'s resident memory per connection (RSS growth / connections reached; with no target ' +
      'that includes the embedded server, which runs in the same process) and the round-trip histogram.',
    'One source address offers about 28,000 ephemeral ports to one destination (net.ipv4.ip_local_port_range); ' +
      '--bind 127.0.0.2,127.0.0.3,... (any local addresses, taken in turn) goes past that, and each process needs a ' +
      'descriptor per connection (ulimit -n; Node raises its soft limit to the hard one). Without a target, an embedded ' +
      'echo server on 127.0.0.1 answers.',
    'See docs/commands/bench.md.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> bench connections -c 10000 --ramp 2000 -d 10',
    '<%= config.bin %> bench connections 127.0.0.1:4433 -c 50000 --ramp 5000 --bind 127.0.0.2,127.0.0.3 --json > cap.json',
    '<%= config.bin %> bench connections -c 5000 --message-size 64 --interval 1000 -d 20',
  ];
  static args = benchArgs;
  static flags = {
    ...commonBenchFlags,
    ramp: Flags.integer({ description: 'connections opened per second, over all workers (0: all at once)', default: 1000, min: 0 }),
    'message-size': Flags.integer({ description: 'bytes each connection sends per message to an echo server (0: hold the connections silent)', default: 0, min: 0, max: 16 * 1024 * 1024 }),
    interval: Flags.integer({ description: 'ms between one connection\'s messages (with --message-size)', default: 1000, min: 1 }),
  };

  async run(): Promise<ResultDocument> {
    const { args, flags } = await this.parse(BenchConnections);
    if (flags.warmup) throw new ConfigError('bench connections measures from the first connect: leave out --warmup');
    return this.runBenchFrom('connections', args.target, flags, {
      connections: flags.connections ?? 1000,
      durationSec: flags.duration ?? 10,
      warmupSec: 0,
      rampPerSec: flags.ramp,
      messageSize: flags['message-size'],
      intervalMs: flags.interval,
      pingpongSize: flags['message-size'],
    });
  }
}
