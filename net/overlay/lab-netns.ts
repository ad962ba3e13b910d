// The namespaces the overlay's lab tests and its task-path rig stand on: a two-host underlay
// (netns h1 and h2 joined by one veth pair named `u0` at both ends, each end addressed /24
// and up, loopback up) and the clean-up that deletes the caller's namespaces and says what
// was left. Only namespaces the caller made and names.
import { spawnSync } from 'node:child_process';

function run(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`overlay: ${argv.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
}

/** Joins netns `hosts[0]` and `hosts[1]` by veth `u0`, with `vteps[i]`/24 on host i's end; throws on the first failure. */
export function linkTwoHosts(hosts: readonly [string, string], vteps: readonly [string, string]): void {
  run(['ip', '-n', hosts[0], 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', hosts[1]]);
  hosts.forEach((h, i) => {
    run(['ip', '-n', h, 'addr', 'add', `${vteps[i]}/24`, 'dev', 'u0']);
    run(['ip', '-n', h, 'link', 'set', 'u0', 'up']);
    run(['ip', '-n', h, 'link', 'set', 'lo', 'up']);
  });
}

/** Deletes netns `names` (in reverse order); throws naming any that failed, or any left whose name starts with `tag`. */
export function deleteNetns(names: readonly string[], tag: string): void {
  const errors: string[] = [];
  for (const n of [...names].reverse()) {
    const r = spawnSync('ip', ['netns', 'del', n], { encoding: 'utf8' });
    if (r.status !== 0 && !/No such file/.test(r.stderr)) errors.push(`${n}: ${r.stderr}`);
  }
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(tag));
  if (left.length || errors.length) throw new Error(`clean-up: left ${JSON.stringify(left)} ${errors.join('; ')}`);
}
