/**
 * The DNS child process (see `dns-process.ts`): serves every task's DNS with an
 * `InlineTaskDns` whose sockets come from the socket broker (its own child), on the
 * daemon's instructions over the IPC channel. It exits when that channel closes, so it
 * never outlives the daemon.
 */
import type { DnsTable } from '../../../net/dns/index.ts';
import { SocketBroker } from './socket-broker.ts';
import { InlineTaskDns } from './task-dns.ts';
import type { DnsRequest, DnsReply, LogLevel } from './dns-process.ts';
import type { Logger } from '../../common/logger.ts';

const send = (m: DnsReply) => process.send?.(m);
/** Log lines go to the daemon's logger (errors as their messages: they cross as JSON). */
const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
  const plain = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? v.message : v]));
  send({ op: 'log', level, msg, fields: plain });
};
const logger: Logger = {
  debug: (msg, f) => log('debug', msg, f),
  info: (msg, f) => log('info', msg, f),
  warn: (msg, f) => log('warn', msg, f),
  error: (msg, f) => log('error', msg, f),
  child: () => logger,
};

const upstreams = JSON.parse(process.env.SHOAL_DNS_UPSTREAMS ?? '[]') as string[];
const dns = new InlineTaskDns(new SocketBroker({ logger }), { upstreams });

process.on('message', (m: DnsRequest) => {
  switch (m?.op) {
    case 'table':
      dns.setTable(m.table as DnsTable);
      break;
    case 'bind':
      dns.bind(m.taskId, m.netns, m.networks, { forward: m.forward !== false }).then(
        () => send({ op: 'bound', id: m.id }),
        (err: Error) => send({ op: 'bound', id: m.id, error: err.message }),
      );
      break;
    case 'unbind':
      dns.unbind(m.taskId);
      break;
    default:
      log('warn', 'dns process: unknown request', { op: String((m as { op?: unknown } | undefined)?.op) });
  }
});
process.on('disconnect', () => {
  dns.close();
  process.exit(0);
});
send({ op: 'ready' });
// Counts for the daemon's metrics (a counter reset when this process is replaced is normal for Prometheus).
setInterval(() => send({ op: 'stats', stats: dns.stats() }), 2000).unref();
