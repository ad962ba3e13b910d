import { Command, Flags } from '@oclif/core';

/**
 * `shoal daemon` hosts the server in the same binary, as `dockerd` is Docker's. This
 * is the one CLI file allowed to reach into src/daemon (see eslint.config.js); it
 * loads it lazily so other commands start fast.
 */
export default class Daemon extends Command {
  static override summary = 'Run the Shoal daemon in the foreground';
  static override description =
    'Serves the control API on --host, keeps its state under --data-root and talks to other nodes on --listen-addr. ' +
    'SIGTERM or SIGINT shuts it down cleanly; a second daemon on the same data root refuses to start.';
  static override examples = [
    '<%= config.bin %> daemon --data-root /var/lib/shoal --host unix:///run/shoal/shoal.sock',
    '<%= config.bin %> daemon --listen-addr 192.168.100.11:2377 --advertise-addr 192.168.100.11 --hostname h1',
    '<%= config.bin %> daemon -H unix:///run/shoal/shoal.sock -H tcp://0.0.0.0:2376 --tlsverify --tlscacert /etc/shoal/tls/ca.pem --tlscert /etc/shoal/tls/cert.pem --tlskey /etc/shoal/tls/key.pem',
  ];
  static override flags = {
    // No oclif defaults: a flag given is told apart from one left out, so that a setting both
    // here and in daemon.json is refused (parseDaemonConfig applies the defaults).
    'config-file': Flags.string({ summary: 'Daemon configuration file (default /etc/shoal/daemon.json, when it exists).' }),
    'data-root': Flags.string({ summary: 'Root directory of persistent state (default /var/lib/shoal).' }),
    host: Flags.string({
      char: 'H', env: 'SHOAL_HOST', multiple: true, multipleNonGreedy: true,
      summary: 'Control API: one unix:///path (default unix:///run/shoal/shoal.sock, always served) and tcp://IP:PORT hosts; repeatable.',
    }),
    tlsverify: Flags.boolean({ summary: 'Serve tcp:// hosts with TLS and require client certificates signed by --tlscacert.' }),
    tlscacert: Flags.string({ summary: 'CA certificate (PEM) that signs the clients\' certificates.' }),
    tlscert: Flags.string({ summary: 'This daemon\'s TLS certificate (PEM).' }),
    tlskey: Flags.string({ summary: 'This daemon\'s TLS key (PEM).' }),
    'insecure-tcp-host': Flags.boolean({ summary: 'Serve tcp:// hosts WITHOUT TLS or authentication (whoever reaches the port is root here).' }),
    'listen-addr': Flags.string({ summary: 'Address for node-to-node traffic (IP[:PORT], default 0.0.0.0:2377).' }),
    'advertise-addr': Flags.string({ summary: 'Address other nodes reach this node at.' }),
    hostname: Flags.string({ summary: 'Node name (default: the host name).' }),
    'insecure-registry': Flags.string({ summary: 'Registry reached over plain HTTP (HOST:PORT); repeatable.', multiple: true, multipleNonGreedy: true }),
    runtime: Flags.string({ summary: 'OCI runtime binary (default runc).', options: ['runc', 'crun'] }),
    label: Flags.string({ summary: 'Engine label key=value; repeatable.', multiple: true, multipleNonGreedy: true }),
    'metrics-addr': Flags.string({ summary: 'Serve Prometheus metrics at http://IP:PORT/metrics (default: off).' }),
    'node-generic-resource': Flags.string({ summary: 'An amount of a resource this node offers to tasks: KIND=N (gpu=2); repeatable. Named units (gpu=GPU-3f1c) are refused.', multiple: true, multipleNonGreedy: true }),
    'dashboard-addr': Flags.string({ summary: 'Serve the read-only web dashboard on managers at IP:PORT (a bare PORT: loopback; any other address needs the token printed at start, or with --tlsverify a client certificate of --tlscacert).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Daemon);
    const { runDaemon } = await import('../../src/daemon/main.ts');
    try {
      await runDaemon({
        dataRoot: flags['data-root'],
        host: flags.host,
        listenAddr: flags['listen-addr'],
        advertiseAddr: flags['advertise-addr'],
        hostname: flags.hostname,
        insecureRegistry: flags['insecure-registry'],
        runtime: flags.runtime,
        label: flags.label,
        metricsAddr: flags['metrics-addr'],
        nodeGenericResource: flags['node-generic-resource'],
        dashboardAddr: flags['dashboard-addr'],
        // Booleans are only "given" when set: --no-… forms do not exist.
        tlsverify: flags.tlsverify || undefined,
        tlscacert: flags.tlscacert,
        tlscert: flags.tlscert,
        tlskey: flags.tlskey,
        insecureTcpHost: flags['insecure-tcp-host'] || undefined,
      }, { configFile: flags['config-file'] });
    } catch (err) {
      // One clear line, no stack: bad flags, a data root in use, a socket taken.
      process.stderr.write(`shoal daemon: ${(err as Error).message}\n`);
      this.exit(1);
    }
  }
}
