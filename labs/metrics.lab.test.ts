// Metrics on a 3-host lab (root): every daemon serves Prometheus text on --metrics-addr;
// Debian's own `prometheus` (run here as our process, with its own config and data dir)
// discovers the swarm through `dockerswarm_sd_configs` pointed at h1's API socket (roles
// nodes, services and tasks), scrapes each node's metrics, and answers a query for a
// task's CPU series labelled with its service. Then `shoal service stats` / `node stats`,
// and the autoscaler growing and shrinking a busy service.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceSpec } from '../src/api/types/service.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { stopPid } from './lib/procs.ts';
import { client, formSwarm, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';

const METRICS_PORT = 9323;
const PROM_PORT = 9090;

/** GET over HTTP from inside a host (the lab's addresses are reachable only from there). */
async function getIn(lab: Lab, host: string, url: string): Promise<string> {
  const r = await lab.exec(host, ['curl', '-sS', '--max-time', '5', url]);
  if (r.code !== 0) throw new Error(`curl ${url}: ${r.stderr}`);
  return r.stdout;
}

/** Prometheus's configuration: the three roles against h1's socket, nodes scraped on the metrics port. */
function promConfig(socket: string): string {
  const sd = (role: string) => `    dockerswarm_sd_configs:
      - host: unix://${socket}
        role: ${role}
        port: ${METRICS_PORT}
        refresh_interval: 2s`;
  return `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: shoal-nodes
${sd('nodes')}
    relabel_configs:
      - source_labels: [__meta_dockerswarm_node_address]
        target_label: __address__
        replacement: $1:${METRICS_PORT}
      - source_labels: [__meta_dockerswarm_node_hostname]
        target_label: node
  # Discovery only (tasks serve no metrics): kept so the targets API shows what SD found.
  - job_name: shoal-tasks
${sd('tasks')}
    relabel_configs:
      - source_labels: [__meta_dockerswarm_task_desired_state]
        regex: running
        action: keep
  - job_name: shoal-services
${sd('services')}
`;
}

interface PromTarget { discoveredLabels: Record<string, string>; labels: Record<string, string>; health: string; scrapePool: string; lastError: string }

async function targets(lab: Lab): Promise<PromTarget[]> {
  const body = JSON.parse(await getIn(lab, 'h1', `http://127.0.0.1:${PROM_PORT}/api/v1/targets?state=any`)) as { data: { activeTargets: PromTarget[]; droppedTargets: PromTarget[] } };
  return [...body.data.activeTargets, ...body.data.droppedTargets];
}

async function query(lab: Lab, q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const body = JSON.parse(await getIn(lab, 'h1', `http://127.0.0.1:${PROM_PORT}/api/v1/query?query=${encodeURIComponent(q)}`)) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(body)}`);
  return body.data.result;
}

test('prometheus discovers the swarm with dockerswarm_sd_configs and scrapes every node', async () => {
  await withLab({ hosts: 3, prefix: 'shoalmet', daemons: { extraArgs: ['--metrics-addr', `0.0.0.0:${METRICS_PORT}`] } }, async (lab) => {
    const nodes = await formSwarm(lab);
    const h1 = client(lab, 'h1');
    // A task's targets are its addresses on its networks (Prometheus's tasks role): attach one.
    const net = await h1.post<{ Id: string }>('/networks/create', { Name: 'metnet', Driver: 'overlay' });
    await h1.post('/services/create', {
      Name: 'busy', Labels: { tier: 'demo' }, Mode: { Replicated: { Replicas: 3 } },
      TaskTemplate: { Networks: [{ Target: net.Id }], ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'while :; do :; done'], StopGracePeriod: 1e9 }, Resources: { Limits: { NanoCPUs: 1e8 } } },
    } satisfies ServiceSpec);
    // A task asking the embedded DNS once a second (for the DNS series).
    await h1.post('/services/create', {
      Name: 'asker', Labels: {}, Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080 }] },
      TaskTemplate: { Networks: [{ Target: net.Id }], ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'while :; do nslookup busy >/dev/null 2>&1; sleep 1; done'], StopGracePeriod: 1e9 } },
    } satisfies ServiceSpec);
    const tasks = await waitRunning(lab, 'busy', 3);
    await waitRunning(lab, 'asker', 1);

    // Each node's own endpoint, before Prometheus: cAdvisor names with the swarm labels.
    const h2Text = await getIn(lab, 'h1', `http://${lab.address('h2')}:${METRICS_PORT}/metrics`);
    assert.match(h2Text, /container_cpu_usage_seconds_total\{[^}]*container_label_com_docker_swarm_service_name="busy"/);
    assert.match(h2Text, /container_memory_working_set_bytes\{/);
    // asker publishes a port: every node serves the routing mesh, its connections counted.
    await waitFor('mesh connections on h2', async () => /shoal_mesh_connections\{network_id="[^"]+"\} \d+/.test(await getIn(lab, 'h1', `http://${lab.address('h2')}:${METRICS_PORT}/metrics`)), 30_000, 1000);
    assert.match(h2Text, new RegExp(`shoal_vxlan_bytes_total\\{network_id="${net.Id}",vni="\\d+",direction="receive"\\} \\d+`));
    const h1Text = await getIn(lab, 'h1', `http://${lab.address('h1')}:${METRICS_PORT}/metrics`);
    assert.match(h1Text, /shoal_raft_is_leader\{node_id="[^"]+"\} 1/);
    assert.match(h1Text, /shoal_tasks\{state="running",desired_state="running"\} 4/);
    assert.match(h1Text, /shoal_raft_proposal_duration_seconds_count [1-9]/);
    await waitFor('a node counting DNS answers', async () => {
      for (const h of ['h1', 'h2', 'h3']) {
        const text = await getIn(lab, 'h1', `http://${lab.address(h)}:${METRICS_PORT}/metrics`);
        if (/shoal_dns_queries_total\{result="answer"\} [1-9]/.test(text)) return true;
      }
      return false;
    }, 30_000, 1000);

    const dir = mkdtempSync('/tmp/shoalmet-prom-');
    let pid: number | undefined;
    try {
      writeFileSync(join(dir, 'prometheus.yml'), promConfig(lab.socket('h1')));
      const argv = [...lab.enterCommand('h1'), 'prometheus', `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${PROM_PORT}`, '--log.level=warn'];
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      pid = child.pid;
      let log = '';
      child.stderr!.on('data', (b) => { log = (log + b).slice(-4000); });

      // nodes: every node found with its address and role, and scraped (up).
      const nodeTargets = await waitFor(() => `3 healthy node targets (prometheus log: ${log})`, async () => {
        const ts = (await targets(lab)).filter((t) => t.scrapePool === 'shoal-nodes');
        return ts.length === 3 && ts.every((t) => t.health === 'up') && ts;
      }, 60_000, 500);
      assert.equal(nodeTargets.map((t) => t.labels.node).sort(), ['h1', 'h2', 'h3']);
      assert.equal(new Set(nodeTargets.map((t) => t.discoveredLabels.__meta_dockerswarm_node_id)), new Set(nodes.keys()));
      assert.ok(nodeTargets.some((t) => t.discoveredLabels.__meta_dockerswarm_node_manager_leader === 'true'));

      // tasks: each running task, with its service's name and its node's host name.
      let seen = '';
      const taskTargets = await waitFor(() => `task targets (seen: ${seen}; log: ${log})`, async () => {
        const all = await targets(lab);
        seen = JSON.stringify(all.filter((t) => t.scrapePool !== 'shoal-nodes').map((t) => t.discoveredLabels)).slice(0, 3000);
        const ts = all.filter((t) => t.scrapePool === 'shoal-tasks' && t.discoveredLabels.__meta_dockerswarm_task_desired_state === 'running' &&
          t.discoveredLabels.__meta_dockerswarm_service_name === 'busy');
        return new Set(ts.map((t) => t.discoveredLabels.__meta_dockerswarm_task_id)).size === 3 && ts;
      }, 30_000, 500);
      assert.equal(new Set(taskTargets.map((t) => t.discoveredLabels.__meta_dockerswarm_task_id)), new Set(tasks.map((t) => t.ID)));
      assert.ok(taskTargets.every((t) => t.discoveredLabels.__meta_dockerswarm_service_name === 'busy'));
      assert.ok(taskTargets.every((t) => t.discoveredLabels.__meta_dockerswarm_task_state === 'running'));
      assert.ok(taskTargets.every((t) => ['h1', 'h2', 'h3'].includes(t.discoveredLabels.__meta_dockerswarm_node_hostname)));
      assert.ok(taskTargets.every((t) => t.discoveredLabels.__meta_dockerswarm_service_label_tier === 'demo'));

      // services: the service with its mode and image.
      const svcTargets = await waitFor('service targets', async () => {
        const ts = (await targets(lab)).filter((t) => t.scrapePool === 'shoal-services' && t.discoveredLabels.__meta_dockerswarm_service_name === 'busy');
        return ts.length > 0 && ts;
      }, 30_000, 500);
      assert.is(svcTargets[0].discoveredLabels.__meta_dockerswarm_service_mode, 'replicated');

      // The query: a task's CPU rate, labelled with its service, from every node.
      const series = await waitFor('cpu series of busy from 3 nodes', async () => {
        const r = await query(lab, 'rate(container_cpu_usage_seconds_total{container_label_com_docker_swarm_service_name="busy"}[5s])');
        return new Set(r.map((s) => s.metric.node)).size === 3 && r;
      }, 60_000, 1000);
      assert.ok(series.every((s) => s.metric.container_label_com_docker_swarm_task_name?.startsWith('busy.')));
      assert.ok(series.some((s) => Number(s.value[1]) > 0.01), `a busy loop uses CPU: ${JSON.stringify(series.map((s) => s.value[1]))}`);
      const leader = await query(lab, 'sum(shoal_raft_is_leader)');
      assert.is(leader[0]?.value[1], '1');
    } finally {
      await stopPid(pid, 5000);
      rmSync(dir, { recursive: true, force: true });
    }

    // The stats CLI: a manager gathers every node's usage (2377 /usage) and the store's counts.
    const ok = async (args: string[]): Promise<string> => {
      const r = await lab.cli('h1', args, { timeoutMs: 60_000 });
      assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const svc = JSON.parse(await ok(['service', 'stats', 'busy', '--no-stream', '--format', 'json'])) as {
      services: { Name: string; Running: number; Desired: number; CPUPerc: number }[]; tasks: { Name: string; Node: string; CPUPerc: number }[]; unreachable: Record<string, string>;
    };
    assert.equal(svc.unreachable, {});
    assert.equal(svc.services.map((s) => [s.Name, s.Running, s.Desired]), [['busy', 3, 3]]);
    assert.equal(svc.tasks.map((t) => t.Node).sort(), ['h1', 'h2', 'h3'], 'a task measured on every node');
    // Each busy loop is capped at 10 % of a CPU: the measured share is real and under the cap (with slack).
    assert.ok(svc.tasks.every((t) => t.CPUPerc > 1 && t.CPUPerc < 20), JSON.stringify(svc.tasks));
    const nodeStats = JSON.parse(await ok(['node', 'stats', '--no-stream', '--format', 'json'])) as { nodes: { Hostname: string; Tasks: number; CPUs: number }[] };
    assert.equal(nodeStats.nodes.map((n) => n.Hostname), ['h1', 'h2', 'h3']);
    assert.is(nodeStats.nodes.reduce((a, n) => a + n.Tasks, 0), 4, 'busy ×3 and asker');
    assert.match(await ok(['service', 'stats', '--no-stream']), /NAME\s+TASKS\s+CPU %[\s\S]*busy\s+3\/3\s+\d+\.\d\d%/);
  });
});

test('the autoscaler grows a busy service and shrinks it once the load stops', async () => {
  await withLab({ hosts: 3, prefix: 'shoalmet' }, async (lab) => {
    await formSwarm(lab);
    const h1 = client(lab, 'h1');
    // Each task spins until LOAD_UNTIL (epoch s), capped at 10 % of a CPU, then idles.
    const loadUntil = Math.floor(Date.now() / 1000) + 45;
    const { ID } = await h1.post<{ ID: string }>('/services/create', {
      Name: 'auto', Labels: {}, Mode: { Replicated: { Replicas: 2 } },
      TaskTemplate: {
        ContainerSpec: {
          Image: IMAGE, Env: [`LOAD_UNTIL=${loadUntil}`], StopGracePeriod: 1e9,
          Command: ['sh', '-c', 'while [ "$(date +%s)" -lt "$LOAD_UNTIL" ]; do :; done; exec sleep 3600'],
        },
        Resources: { Limits: { NanoCPUs: 1e8 } },
      },
    } satisfies ServiceSpec);
    await waitRunning(lab, 'auto', 2);
    const cli = await lab.cli('h1', ['service', 'autoscale', 'auto', '--min', '2', '--max', '4', '--cpu', '50', '--window', '3s', '--cooldown', '3s']);
    assert.is(cli.code, 0, cli.stderr);
    const t0 = Date.now();
    type Svc = { Spec: { Labels: Record<string, string>; Mode: { Replicated: { Replicas: number } } }; ShoalAutoscale?: { Replicas: number; Reason: string } };
    const grown = await waitFor('the service to grow', async () => {
      const s = await h1.get<Svc>(`/services/${ID}`);
      return s.Spec.Mode.Replicated.Replicas > 2 && s;
    }, 40_000, 500);
    const grewMs = Date.now() - t0;
    assert.match(grown.ShoalAutoscale!.Reason, /cpu \d+% of target 50%: above target for 3s, 2 -> [34] replicas/);
    assert.is(grown.Spec.Labels['com.shoal.autoscale.max'], '4', 'inspect shows the policy');
    await waitRunning(lab, 'auto', grown.Spec.Mode.Replicated.Replicas);
    assert.ok(grewMs < 3000 + 3000 + 10_000, `reacted within window + cooldown + 10 s (${grewMs} ms)`);
    // After LOAD_UNTIL every task idles: back to the minimum.
    const shrunk = await waitFor('the service to shrink back to 2', async () => {
      const s = await h1.get<Svc>(`/services/${ID}`);
      return Date.now() / 1000 > loadUntil && s.Spec.Mode.Replicated.Replicas === 2 && s;
    }, 90_000, 1000);
    assert.match(shrunk.ShoalAutoscale!.Reason, /below target/);
    // A bad policy is refused by name, never stored.
    const bad = await lab.cli('h1', ['service', 'autoscale', 'auto', '--min', '5', '--max', '3', '--cpu', '50']);
    assert.is.not(bad.code, 0);
    assert.match(bad.stderr, /max: 3 is below/);
  });
});

test.run();
