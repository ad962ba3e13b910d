// The main job: a 3-host lab on this machine (network namespaces, each host with its
// own hostname, /run and `shoal daemon`), the lab registry with the test image, and
// each host answering `shoal info` through the real CLI.
//
// Usage: npm run demo [-- --hosts N] [-- --down]
//   --down  tear the lab down at the end (default: leave it up to explore;
//           `npm run lab -- down` removes it).
// Later issues extend this into a service spread over the hosts.
import { spawnSync } from 'node:child_process';
import { Lab } from './lib/lab.ts';
import { SHOAL_BIN } from './lib/daemon.ts';

const argv = process.argv.slice(2);
const hostsArg = argv.indexOf('--hosts');
const hosts = hostsArg >= 0 ? Number(argv[hostsArg + 1]) : 3;
const tearDown = argv.includes('--down');

function shoal(host: string, args: string[]): string {
  const r = spawnSync(process.execPath, [SHOAL_BIN, ...args, '--host', host], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`shoal ${args.join(' ')} failed on ${host}: ${r.stderr.trim()}`);
  return r.stdout;
}

const started = Date.now();
console.log(`demo: building a ${hosts}-host lab (replacing any earlier one)…`);
const lab = await Lab.up({ hosts, replace: true, log: (m) => console.log(`  ${m}`) });
let ok = false;
try {
  console.log(`demo: lab up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  for (const h of (await lab.status()).hosts) {
    const info = JSON.parse(shoal(`unix://${h.socket}`, ['info', '--format', 'json'])) as Record<string, any>;
    console.log(`${h.name}  ${h.address.padEnd(16)} daemon pid ${String(h.daemonPid).padEnd(8)} ` +
      `shoal info: Name=${info.Name} ServerVersion=${info.ServerVersion} Swarm=${info.Swarm.LocalNodeState} ` +
      `Kernel=${info.KernelVersion}`);
  }
  const st = await lab.status();
  if (st.registry) console.log(`\nregistry: ${st.registry.address} (test image shoal/bb:v1 and :v2)`);
  const first = st.hosts[0];
  console.log(`\nTry:  npx shoal info --host unix://${first.socket}`);
  console.log(`      DOCKER_HOST=unix://${first.socket} docker info`);
  console.log(`      npm run lab -- exec ${first.name} -- ip -br addr`);
  console.log(`      npm run lab -- status`);
  ok = true;
} finally {
  if (tearDown || !ok) {
    console.log('\ndemo: tearing the lab down');
    await lab.down();
  } else {
    console.log('\nThe lab stays up; remove it with:  npm run lab -- down');
  }
}
