// A stand-in DNS child for dns-process.test.ts: reports every request it gets (as a debug
// log line: op and, for a table, its first service's VIP) and binds nothing but says it did.
process.on('message', (m) => {
  process.send({ op: 'log', level: 'debug', msg: 'got', fields: { op: m.op, vip: m.table?.net1?.[0]?.vip } });
  if (m.op === 'bind') process.send({ op: 'bound', id: m.id });
});
process.on('disconnect', () => process.exit(0));
