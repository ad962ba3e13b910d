// `npm run lab -- <command>`: the multi-host lab from the command line.
//   up [--hosts N] [--no-daemons] [--no-registry] | down | status [--json]
//   exec hN -- CMD... | kill hN | start hN | partition hN [--link|--from hA,hB] | heal [hN]
//   logs hN | registry
// Global: --prefix P (default $SHOAL_LAB_PREFIX or 'shoal'); base dir $SHOAL_LAB_DIR or
// /tmp/<prefix>-lab.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Lab, LabError } from './lib/lab.ts';

const USAGE = `usage: npm run lab -- [--prefix P] <command>
  up [--hosts N] [--no-daemons] [--no-registry]   build the lab (default 3 hosts)
  down                                            remove everything of the lab
  status [--json]                                 hosts, addresses, daemons, registry
  exec hN -- CMD...                               run CMD inside host hN
  kill hN                                         kill -9 hN's daemon and its containers
  start hN                                        start hN's daemon again
  pause hN | resume hN                            SIGSTOP / SIGCONT hN's daemon
  partition hN [--link | --from hA,hB]            cut hN off (nftables drop; --link: port
                                                  down; --from: only from those hosts)
  heal [hN]                                       undo partitions (of hN or all)
  logs hN                                         print hN's daemon log
  registry                                        print the registry address`;

interface Parsed {
  cmd: string;
  args: string[];
  rest: string[];
  flags: Map<string, string | true>;
}

function parse(argv: string[]): Parsed {
  const dd = argv.indexOf('--');
  const head = dd >= 0 ? argv.slice(0, dd) : argv;
  const rest = dd >= 0 ? argv.slice(dd + 1) : [];
  const flags = new Map<string, string | true>();
  const args: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const a = head[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) flags.set(k, v);
      else if (['hosts', 'prefix', 'from'].includes(k)) flags.set(k, head[++i] ?? '');
      else flags.set(k, true);
    } else args.push(a);
  }
  return { cmd: args[0] ?? '', args: args.slice(1), rest, flags };
}

function need(args: string[], what: string): string {
  if (!args[0]) throw new LabError(`lab: missing ${what}\n${USAGE}`);
  return args[0];
}

async function main(argv: string[]): Promise<number> {
  const p = parse(argv);
  const prefix = String(p.flags.get('prefix') ?? process.env.SHOAL_LAB_PREFIX ?? 'shoal');
  const log = (m: string) => process.stderr.write(`[lab ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
  switch (p.cmd) {
    case 'up': {
      const hosts = Number(p.flags.get('hosts') ?? 3);
      const t0 = Date.now();
      // Ctrl-C while building: tear down what exists rather than leave half a lab.
      const interrupted = () => {
        log('interrupted: tearing the lab down');
        // Twice: `up` keeps running between our awaits and may add a piece during the first.
        Lab.down({ prefix }).catch(() => {}).then(() => Lab.down({ prefix })).finally(() => process.exit(130));
      };
      process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
      const lab = await Lab.up({
        hosts, prefix, log,
        daemons: !p.flags.has('no-daemons'),
        registry: !p.flags.has('no-registry'),
      });
      log(`lab "${lab.prefix}" up: ${lab.hosts.length} hosts in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
      printStatus(await lab.status());
      return 0;
    }
    case 'down':
      await Lab.down({ prefix });
      log(`lab "${prefix}" down`);
      return 0;
    case 'status': {
      const lab = Lab.attach({ prefix });
      const st = await lab.status();
      if (p.flags.has('json')) process.stdout.write(JSON.stringify(st, null, 2) + '\n');
      else printStatus(st);
      return 0;
    }
    case 'exec': {
      const lab = Lab.attach({ prefix });
      const host = need(p.args, 'host');
      const cmd = p.rest.length ? p.rest : p.args.slice(1);
      if (!cmd.length) throw new LabError('lab: exec needs a command: exec hN -- CMD...');
      const [bin, ...args] = lab.enterCommand(host);
      const child = spawn(bin, [...args, ...cmd], { stdio: 'inherit' });
      return await new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
    }
    case 'kill': {
      const lab = Lab.attach({ prefix });
      const host = need(p.args, 'host');
      const killed = await lab.killDaemon(host);
      log(`${host}: killed ${killed.length} processes (${killed.join(' ')})`);
      return 0;
    }
    case 'start': {
      const lab = Lab.attach({ prefix });
      const host = need(p.args, 'host');
      const pid = await lab.startDaemon(host);
      log(`${host}: daemon ready, pid ${pid}, ${lab.dockerHost(host)}`);
      return 0;
    }
    case 'pause':
    case 'resume': {
      const lab = Lab.attach({ prefix });
      const host = need(p.args, 'host');
      if (p.cmd === 'pause') lab.pauseDaemon(host);
      else lab.resumeDaemon(host);
      log(`${host}: daemon ${p.cmd === 'pause' ? 'paused (SIGSTOP)' : 'resumed'}`);
      return 0;
    }
    case 'partition': {
      const lab = Lab.attach({ prefix });
      const host = need(p.args, 'host');
      const from = p.flags.get('from');
      await lab.partition(host, {
        mode: p.flags.has('link') ? 'link' : 'drop',
        from: typeof from === 'string' ? from.split(',').filter(Boolean) : undefined,
      });
      log(`${host}: partitioned${typeof from === 'string' ? ` from ${from}` : ''}`);
      return 0;
    }
    case 'heal': {
      const lab = Lab.attach({ prefix });
      await lab.heal(p.args[0]);
      log(`${p.args[0] ?? 'all hosts'}: healed`);
      return 0;
    }
    case 'logs': {
      const lab = Lab.attach({ prefix });
      process.stdout.write(readFileSync(lab.daemonLog(need(p.args, 'host')), 'utf8'));
      return 0;
    }
    case 'registry': {
      const lab = Lab.attach({ prefix });
      if (!lab.registryAddress) throw new LabError('lab: this lab has no registry');
      process.stdout.write(lab.registryAddress + '\n');
      return 0;
    }
    case '':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return p.cmd ? 0 : 2;
    default:
      throw new LabError(`lab: unknown command "${p.cmd}"\n${USAGE}`);
  }
}

function printStatus(st: Awaited<ReturnType<Lab['status']>>): void {
  const rows = [['HOST', 'ADDRESS', 'NETNS', 'ANCHOR', 'DAEMON', 'STATE', 'SOCKET']];
  for (const h of st.hosts) {
    const state = !h.anchorAlive ? 'no-anchor' : h.ready ? 'ready' : h.daemonAlive ? 'starting' : 'down';
    rows.push([h.name, h.address, h.netns, String(h.anchorPid), h.daemonPid && h.daemonAlive ? String(h.daemonPid) : '-',
      state + (h.partitioned ? ',partitioned' : ''), `unix://${h.socket}`]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd() + '\n');
  const reg = st.registry;
  process.stdout.write(`registry: ${reg ? `${reg.address} pid ${reg.pid} ${reg.alive ? 'alive' : 'dead'}` : 'none'}\n`);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
