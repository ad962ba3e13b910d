// Compose stacks on a 3-host swarm (root, real runc containers; issue 17, item 1): a
// realistic compose file (web, api, worker, db with a named volume, a secret, a config,
// two networks, health checks, update config) deploys with `shoal stack deploy`, is served
// through the routing mesh, its services reach each other by name over their networks,
// redeploys with a changed image as a rolling update of that service only, is listed by
// `stack ls/services/ps`, and `stack rm` removes exactly what the stack made. Then the
// same file through the stock docker CLI's `docker stack deploy/ls/services/ps/rm`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import type { Config, Secret } from '../src/api/types/secret-config.ts';
import type { NetworkResource } from '../cli/network-api.ts';
import { Lab } from './lib/lab.ts';
import { SHOAL_BIN } from './lib/daemon.ts';
import { run } from './lib/procs.ts';
import { httpFromSwitch, inContainer, placedTasks } from './lib/swarm-net.ts';
import { client, formSwarm, IMAGE, tasksOf, waitFor, waitRunning } from './lib/swarm-services.ts';

const REPO = IMAGE.replace(/:v1$/, '');
const PASSWORD = 'correct horse battery staple';
const BANNER = 'hello-from-config';
const NS = 'com.docker.stack.namespace';

/** The compose file: `${TAG}` and `${WEB_PORT}` are interpolated by whoever deploys it. */
const COMPOSE = `
version: "3.8"
x-fast-stop: &fast
  stop_grace_period: 1s
services:
  web:
    <<: *fast
    image: ${REPO}:\${TAG:-v1}
    command:
      - sh
      - -c
      - 'mkdir -p /www && echo "$$(cat /etc/web/banner)-$$(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www'
    ports: ["\${WEB_PORT:-8080}:80"]
    networks: [front]
    configs:
      - source: banner
        target: /etc/web/banner
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 1s
      timeout: 1s
      retries: 3
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 1s, monitor: 2s, order: stop-first, failure_action: rollback}
      restart_policy: {condition: any, delay: 1s}
  api:
    <<: *fast
    image: ${REPO}:v1
    command: ["sh", "-c", "mkdir -p /www && cp /run/secrets/db_password /www/pw && exec httpd -f -p 8000 -h /www"]
    networks:
      front: {aliases: [backend]}
      back: {}
    secrets: [db_password]
    healthcheck:
      test: wget -q -O /dev/null http://127.0.0.1:8000/pw
      interval: 1s
      retries: 3
  worker:
    <<: *fast
    image: ${REPO}:v1
    command: ["sleep", "3600"]
    environment: {QUEUE: jobs}
    networks: [back]
  db:
    <<: *fast
    image: ${REPO}:v1
    command: ["sh", "-c", "echo boot >> /data/boots && exec sleep 3600"]
    volumes: ["dbdata:/data"]
    networks: [back]
networks:
  front: {attachable: true}
  back: {}
volumes:
  dbdata: {}
secrets:
  db_password: {file: ./db_password.txt}
configs:
  banner: {file: ./banner.txt}
`;

let lab: Lab;
let hostOf: Map<string, string>;
let dir: string;
let file: string;

const shoal = async (args: string[], env: Record<string, string> = {}) => {
  const r = await run('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), `SHOAL_HOST=${lab.dockerHost('h1')}`, process.execPath, SHOAL_BIN, ...args], { timeoutMs: 180_000 });
  assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
const docker = async (args: string[], env: Record<string, string> = {}) => {
  const r = await run('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), `DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', ...args], { timeoutMs: 180_000 });
  assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

const api = () => client(lab, 'h1');
const labelled = (stack: string) => ({ query: { filters: JSON.stringify({ label: [`${NS}=${stack}`] }) } });

/** Everything carrying the stack's label, by kind, as names. */
async function objectsOf(stack: string): Promise<Record<string, string[]>> {
  const [services, networks, secrets, configs] = await Promise.all([
    api().get<Service[]>('/services', labelled(stack)), api().get<NetworkResource[]>('/networks', labelled(stack)),
    api().get<Secret[]>('/secrets', labelled(stack)), api().get<Config[]>('/configs', labelled(stack)),
  ]);
  return {
    services: services.map((s) => s.Spec.Name).sort(), networks: networks.map((n) => n.Name).sort(),
    secrets: secrets.map((s) => s.Spec.Name).sort(), configs: configs.map((c) => c.Spec.Name).sort(),
  };
}

const EMPTY = { services: [], networks: [], secrets: [], configs: [] };

/** Milliseconds from `t0` until every task of the stack's four services runs (printed, not asserted). */
async function timeToRunning(stack: string, t0: number): Promise<number> {
  for (const [s, n] of [['web', 2], ['api', 1], ['worker', 1], ['db', 1]] as const) await waitRunning(lab, `${stack}_${s}`, n);
  return Date.now() - t0;
}

/** The stack runs: every service's tasks, the mesh, names over both networks, the secret, the config, the volume. */
async function checkServed(stack: string, port: number): Promise<void> {
  assert.equal(await objectsOf(stack), {
    services: ['api', 'db', 'web', 'worker'].map((s) => `${stack}_${s}`),
    networks: [`${stack}_back`, `${stack}_front`],
    secrets: [`${stack}_db_password`], configs: [`${stack}_banner`],
  });
  const web = await placedTasks(lab, `${stack}_web`, hostOf, 2);
  const [apiTask] = await placedTasks(lab, `${stack}_api`, hostOf, 1);
  const [worker] = await placedTasks(lab, `${stack}_worker`, hostOf, 1);
  const [db] = await placedTasks(lab, `${stack}_db`, hostOf, 1);
  // Through the routing mesh, on every node: the page built from the config, by a web task.
  const expected = new Set(web.map((t) => `${BANNER}-${t.hostname}`));
  await waitFor(`${stack}: h1:${port} answers`, async () => expected.has((await httpFromSwitch(lab, lab.address('h1'), port, 1))[0]), 30_000);
  for (const h of ['h1', 'h2', 'h3']) {
    const answers = await httpFromSwitch(lab, lab.address(h), port, 4);
    assert.ok(answers.every((a) => expected.has(a)), `${h}:${port} answered by web tasks: ${answers}`);
  }
  // The worker reaches the api by service name on `back`; web by its alias on `front`; the secret reaches api.
  const get = async (t: typeof worker, url: string) => {
    let out = '';
    await waitFor(`${url} from ${t.hostname}`, async () => {
      const r = await inContainer(lab, t, ['wget', '-q', '-O-', url]);
      out = r.stdout;
      return r.code === 0;
    }, 30_000, 500);
    return out;
  };
  assert.is(await get(worker, 'http://api:8000/pw'), PASSWORD);
  assert.is(await get(web[0], 'http://backend:8000/pw'), PASSWORD);
  assert.not.ok((await inContainer(lab, web[0], ['wget', '-q', '-T', '2', '-O-', 'http://worker:8000/'])).code === 0, 'web is not on back');
  // The db's named volume is STACK_dbdata, a local volume on its node.
  const dbSvc = await api().get<Service>(`/services/${stack}_db`);
  assert.is(dbSvc.Spec.TaskTemplate.ContainerSpec.Mounts?.[0].Source, `${stack}_dbdata`);
  assert.match((await inContainer(lab, db, ['cat', '/data/boots'])).stdout, /boot/);
  assert.ok(apiTask.hostname, 'api runs');
  // Health checks: a checked task is `starting` until its check passes, so running tasks are healthy ones.
  const webSvc = await api().get<Service>(`/services/${stack}_web`);
  assert.equal(webSvc.Spec.TaskTemplate.ContainerSpec.Healthcheck?.Test, ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1/']);
  assert.equal((await api().get<Service>(`/services/${stack}_api`)).Spec.TaskTemplate.ContainerSpec.Healthcheck?.Test?.[0], 'CMD-SHELL');
  // The check's verdict, as the stock `docker ps` shows it on each web task's node.
  for (const h of new Set(web.map((t) => t.host))) {
    const r = await run('env', [`DOCKER_HOST=${lab.dockerHost(h)}`, 'docker', 'ps', '--filter', `label=com.docker.swarm.service.name=${stack}_web`, '--format', '{{.Status}}'], { timeoutMs: 30_000 });
    assert.match(r.stdout, /^(Up .* \(healthy\)\n)+$/, `web tasks on ${h}: ${r.stdout}${r.stderr}`);
  }
}

/** Redeploys with web on v2: web rolls one task at a time, keeps its ID; the others keep their tasks. */
async function checkRollingRedeploy(stack: string, deploy: () => Promise<string>): Promise<string> {
  const before = await api().get<Service>(`/services/${stack}_web`);
  const others = new Map<string, string[]>();
  for (const s of ['api', 'worker', 'db']) others.set(s, (await waitRunning(lab, `${stack}_${s}`, 1)).map((t) => t.ID));
  const samples: Task[][] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      samples.push(await tasksOf(lab, `${stack}_web`).catch(() => []));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let out: string;
  try {
    out = await deploy();
    await waitFor(`${stack}_web update completed`, async () => (await api().get<Service>(`/services/${stack}_web`)).UpdateStatus?.State === 'completed', 120_000, 250);
  } finally {
    done = true;
    await poll;
  }
  const after = await api().get<Service>(`/services/${stack}_web`);
  assert.is(after.ID, before.ID, 'updated, not recreated');
  assert.is(after.Spec.TaskTemplate.ContainerSpec.Image, `${REPO}:v2`);
  assert.is(after.PreviousSpec?.TaskTemplate.ContainerSpec.Image, `${REPO}:v1`);
  const running = await waitRunning(lab, `${stack}_web`, 2);
  assert.equal(running.map((t) => t.Spec.ContainerSpec.Image), [`${REPO}:v2`, `${REPO}:v2`]);
  // Parallelism 1: never both web tasks down at once.
  const minRunning = Math.min(...samples.filter((s) => s.length).map((s) => s.filter((t) => t.Status.State === 'running').length));
  assert.ok(minRunning >= 1, `at least one web task ran throughout (min ${minRunning})`);
  for (const [s, ids] of others) assert.equal((await waitRunning(lab, `${stack}_${s}`, 1)).map((t) => t.ID), ids, `${s} untouched`);
  return out;
}

/** Removal leaves nothing of the stack (tasks, containers' tasks, objects) and the bystanders alone. */
async function checkRemoved(stack: string): Promise<void> {
  await waitFor(`${stack} tasks gone`, async () => (await api().get<Task[]>('/tasks', labelled(stack))).length === 0, 60_000);
  await waitFor(`${stack} objects gone`, async () => JSON.stringify(await objectsOf(stack)) === JSON.stringify(EMPTY), 60_000);
  assert.ok(await api().get('/networks/bystander'), 'the unrelated network stays');
  assert.ok(await api().get('/secrets/bystander'), 'the unrelated secret stays');
  assert.ok(await api().get('/services/bystander'), 'the unrelated service stays');
}

test.before(async () => {
  lab = await Lab.up({ hosts: 3, prefix: 'shoalst', replace: true });
  hostOf = await formSwarm(lab);
  dir = mkdtempSync(join(tmpdir(), 'shoalst-'));
  file = join(dir, 'stack.yml');
  writeFileSync(file, COMPOSE);
  writeFileSync(join(dir, 'db_password.txt'), PASSWORD);
  writeFileSync(join(dir, 'banner.txt'), BANNER);
  // Bystanders: objects a stack removal must not touch.
  await api().post('/networks/create', { Name: 'bystander', Driver: 'overlay', Labels: {} });
  await api().post('/secrets/create', { Name: 'bystander', Labels: {}, Data: Buffer.from('x').toString('base64') });
  await api().post('/services/create', { Name: 'bystander', Labels: {}, TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } } });
});

test.after(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  await lab?.down();
});

test('shoal stack deploy: a realistic stack deploys and is served through the mesh', async () => {
  const t0 = Date.now();
  const out = await shoal(['stack', 'deploy', '-c', file, 'shop']);
  console.log(`  shoal stack deploy: 5 tasks of 4 services running after ${await timeToRunning('shop', t0)} ms`);
  for (const line of ['Creating network shop_back', 'Creating network shop_front', 'Creating secret shop_db_password', 'Creating config shop_banner', 'Creating service shop_web']) {
    assert.ok(out.includes(line), `"${line}" in:\n${out}`);
  }
  await checkServed('shop', 8080);
});

test('shoal stack ls, services, ps', async () => {
  assert.match(await shoal(['stack', 'ls']), /NAME\s+SERVICES\nshop\s+4\n/);
  const services = await shoal(['stack', 'services', 'shop']);
  for (const s of ['shop_api', 'shop_db', 'shop_web', 'shop_worker']) assert.match(services, new RegExp(`${s}\\s+replicated\\s+\\d/\\d`));
  assert.match(services, /shop_web\s+replicated\s+2\/2\s+\S+:v1\s+\*:8080->80\/tcp/);
  const ps = await shoal(['stack', 'ps', '--filter', 'desired-state=running', '--format', '{{.Name}} {{.CurrentState}}', 'shop']);
  const names = ps.trim().split('\n').map((l) => l.split(' ')[0]).sort();
  assert.equal(names, ['shop_api.1', 'shop_db.1', 'shop_web.1', 'shop_web.2', 'shop_worker.1']);
});

test('shoal stack deploy again with a changed image: a rolling update of that service only', async () => {
  const out = await checkRollingRedeploy('shop', () => shoal(['stack', 'deploy', '--detach=false', '-c', file, 'shop'], { TAG: 'v2' }));
  assert.match(out, /Updating service shop_web \(id: \w+\)/);
  assert.match(out, /Waiting for service shop_web\n[^]*overall progress: 2 out of 2 tasks[^]*verify: Service converged/, '--detach=false follows the rolling update');
  assert.not.match(out, /Creating (service|network)/);
  await checkServed('shop', 8080);
});

test('a redeploy with --prune removes the services no longer in the file', async () => {
  const small = join(dir, 'small.yml');
  writeFileSync(small, COMPOSE.replace(/\n {2}worker:\n(?: {4}.*\n)+/, '\n'));
  const out = await shoal(['stack', 'deploy', '--prune', '-c', file, '-c', small, 'shop'], { TAG: 'v2' });
  assert.not.match(out, /Removing service/, 'merged with the full file, nothing to prune');
  const pruned = await shoal(['stack', 'deploy', '--prune', '-c', small, 'shop'], { TAG: 'v2' });
  assert.match(pruned, /Removing service shop_worker/);
  assert.equal((await objectsOf('shop')).services, ['shop_api', 'shop_db', 'shop_web']);
});

test('shoal stack rm removes everything the stack made and nothing else', async () => {
  const out = await shoal(['stack', 'rm', 'shop']);
  for (const line of ['Removing service shop_web', 'Removing secret shop_db_password', 'Removing config shop_banner', 'Removing network shop_front', 'Removing network shop_back']) {
    assert.ok(out.includes(line), `"${line}" in:\n${out}`);
  }
  await checkRemoved('shop');
  assert.match(await shoal(['stack', 'ls']), /^NAME\s+SERVICES\n$/);
});

test('the stock docker CLI: docker stack deploy, ls, services, ps, redeploy, rm', async () => {
  const env = { WEB_PORT: '8081' };
  const t0 = Date.now();
  const out = await docker(['stack', 'deploy', '--detach=true', '-c', file, 'dk'], env);
  console.log(`  docker stack deploy (against Shoal): 5 tasks of 4 services running after ${await timeToRunning('dk', t0)} ms`);
  assert.match(out, /Creating service dk_web/);
  await checkServed('dk', 8081);
  assert.match(await docker(['stack', 'ls']), /dk\s+4/);
  const services = await docker(['stack', 'services', '--format', '{{.Name}} {{.Mode}} {{.Replicas}}', 'dk']);
  assert.equal(services.trim().split('\n').sort(), ['dk_api replicated 1/1', 'dk_db replicated 1/1', 'dk_web replicated 2/2', 'dk_worker replicated 1/1']);
  const ps = await docker(['stack', 'ps', '--filter', 'desired-state=running', '--format', '{{.Name}}', 'dk']);
  assert.equal(ps.trim().split('\n').sort(), ['dk_api.1', 'dk_db.1', 'dk_web.1', 'dk_web.2', 'dk_worker.1']);
  const again = await checkRollingRedeploy('dk', () => docker(['stack', 'deploy', '--detach=true', '-c', file, 'dk'], { ...env, TAG: 'v2' }));
  assert.match(again, /Updating service dk_web/);
  await docker(['stack', 'rm', 'dk']);
  await checkRemoved('dk');
});

test.run();
