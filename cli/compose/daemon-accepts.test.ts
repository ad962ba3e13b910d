// Every ServiceSpec the compose converter makes passes the daemon's own checks (shape,
// the table of unsupported fields, validation), so a stack never fails half-deployed on
// a spec Shoal refuses; and a field Shoal does not do is still refused there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serviceSpecOfBody, validateServiceSpec, withServiceDefaults } from '../../src/api/spec/service-spec.ts';
import { loadCompose } from './load.ts';
import { convertStack } from './convert.ts';

const opts = { workingDir: '/app', env: () => undefined, readFile: () => Buffer.from('x') };
const YML = `
services:
  web:
    image: nginx
    ports: ["80:80", {target: 443, published: 443, mode: host}]
    healthcheck: {test: "wget -q -O- localhost", interval: 5s, retries: 3}
    deploy:
      replicas: 3
      update_config: {parallelism: 1, delay: 1s, order: start-first, failure_action: rollback}
      rollback_config: {parallelism: 0}
      resources: {limits: {cpus: "0.25", memory: 64m}}
      restart_policy: {condition: any, delay: 1s}
      placement: {constraints: [node.role==worker], max_replicas_per_node: 2}
  db:
    image: postgres
    volumes: ["data:/var/lib/postgresql/data", "/srv/init:/init:ro", {type: tmpfs, target: /tmp, tmpfs: {size: 64m}}]
    secrets: [{source: pw, target: pg, mode: 0400}]
    configs: [conf]
    user: "70"
    stop_grace_period: 1m
    ulimits: {nofile: 1024}
    cap_drop: [ALL]
    deploy: {endpoint_mode: dnsrr, labels: [tier=db]}
volumes: {data: {}}
secrets: {pw: {file: ./pw}}
configs: {conf: {file: ./conf}}
`;

test('the converted specs pass the daemon\'s shape, unsupported-field and validation checks', () => {
  const plan = convertStack(loadCompose('s.yml', YML, () => undefined).data, 'shop', opts);
  for (const { spec } of plan.services) {
    const body = JSON.parse(JSON.stringify(spec)) as unknown;
    const parsed = serviceSpecOfBody(body);
    validateServiceSpec(withServiceDefaults(parsed));
  }
});

test('the stack label on a named volume passes; any other volume label is still refused (501)', () => {
  const plan = convertStack(loadCompose('s.yml', YML, () => undefined).data, 'shop', opts);
  const db = structuredClone(plan.services.find((s) => s.key === 'db')!.spec);
  assert.equal(db.TaskTemplate.ContainerSpec.Mounts![0].VolumeOptions, { Labels: { 'com.docker.stack.namespace': 'shop' } });
  db.TaskTemplate.ContainerSpec.Mounts![0].VolumeOptions!.Labels!.other = 'x';
  assert.throws(() => serviceSpecOfBody(db), (e: Error & { status?: number }) => e.status === 501 && /VolumeOptions\.Labels: volume labels/.test(e.message));
});

test('a docker-CLI-shaped UpdateConfig ("" for an unset failure action and order) means the defaults', () => {
  const spec = serviceSpecOfBody({
    Name: 'dk_web', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'x' } },
    UpdateConfig: { Parallelism: 1, Delay: 1e9, FailureAction: '', Monitor: 0, MaxFailureRatio: 0, Order: '' },
    RollbackConfig: { Parallelism: 1, FailureAction: '', Order: '' },
  });
  const s = withServiceDefaults(spec);
  validateServiceSpec(s);
  assert.equal([s.UpdateConfig?.FailureAction, s.UpdateConfig?.Order, s.RollbackConfig?.Order], ['pause', 'stop-first', 'stop-first']);
});

test.run();
