import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCompose } from './load.ts';
import { convertStack, type StackPlan } from './convert.ts';
import { readStack } from './read.ts';

const FILES: Record<string, string> = { '/app/db_password.txt': 'hunter2\n', '/app/nginx.conf': 'server {}\n', '/app/api.env': '# comment\nLOG=debug\nFROM_ENV\n' };
const ENV: Record<string, string> = { FROM_ENV: 'yes', PASS_THROUGH: 'p' };
const opts = { workingDir: '/app', env: (n: string) => ENV[n], readFile: (p: string) => { if (!(p in FILES)) throw new Error('no such file'); return Buffer.from(FILES[p]); } };

function plan(yml: string, stack = 'shop'): StackPlan {
  return convertStack(loadCompose('stack.yml', yml, opts.env).data, stack, opts);
}
const svc = (p: StackPlan, key: string) => p.services.find((s) => s.key === key)!.spec;

const REALISTIC = `
version: "3.8"
services:
  web:
    image: nginx:1.25
    ports: ["8080:80"]
    networks: [front]
    configs:
      - source: nginx_conf
        target: /etc/nginx/conf.d/default.conf
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 2s, order: start-first, failure_action: rollback, monitor: 5s}
      rollback_config: {parallelism: 2}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://localhost/"]
      interval: 5s
      timeout: 2s
      retries: 3
      start_period: 1m30s
  api:
    image: example/api:1
    command: serve --port 9000
    environment:
      - DB_HOST=db
      - PASS_THROUGH
    env_file: api.env
    networks:
      front: {aliases: [backend]}
      back: {}
    secrets: [db_password]
    deploy:
      endpoint_mode: dnsrr
      labels: {tier: api}
      resources:
        limits: {cpus: "0.5", memory: 128M}
        reservations: {memory: 64m}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
      placement:
        constraints: [node.role == worker]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 2
  worker:
    image: example/worker:1
    entrypoint: ["/bin/worker", "--queue"]
    command: ["jobs"]
    user: "1000:1000"
    working_dir: /work
    hostname: "{{.Service.Name}}-{{.Task.Slot}}"
    stop_grace_period: 30s
    stop_signal: SIGINT
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    sysctls: {net.core.somaxconn: 1024}
    ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
    networks: [back]
    deploy: {mode: global}
  db:
    image: postgres:16
    volumes:
      - dbdata:/var/lib/postgresql/data
      - ./init:/docker-entrypoint-initdb.d:ro
      - type: tmpfs
        target: /run/pg
    secrets:
      - source: db_password
        target: pgpass
        uid: "70"
        mode: 0400
    networks: [back]
    restart: on-failure:5
networks:
  front: {attachable: true}
  back:
    ipam:
      config: [{subnet: 10.20.0.0/24}]
volumes:
  dbdata: {}
secrets:
  db_password: {file: ./db_password.txt}
configs:
  nginx_conf: {file: ./nginx.conf}
`;

test('a realistic stack: names, labels and networks as docker stack deploy makes them', () => {
  const p = plan(REALISTIC);
  assert.equal(p.services.map((s) => s.spec.Name), ['shop_api', 'shop_db', 'shop_web', 'shop_worker']);
  assert.equal(p.networks.map((n) => [n.name, n.body?.Attachable, n.body?.Labels]), [
    ['shop_back', false, { 'com.docker.stack.namespace': 'shop' }],
    ['shop_front', true, { 'com.docker.stack.namespace': 'shop' }],
  ]);
  assert.equal(p.networks[0].body?.IPAM.Config, [{ Subnet: '10.20.0.0/24' }]);
  assert.is(p.networks[0].body?.Driver, 'overlay');
  assert.equal(p.secrets.map((s) => [s.name, s.data?.toString()]), [['shop_db_password', 'hunter2\n']]);
  assert.equal(p.configs.map((s) => [s.name, s.labels]), [['shop_nginx_conf', { 'com.docker.stack.namespace': 'shop' }]]);
  assert.equal(p.warnings, []);
});

test('web: ports, health check, update and rollback config, configs, replicas', () => {
  const web = svc(plan(REALISTIC), 'web');
  assert.equal(web.Labels, { 'com.docker.stack.namespace': 'shop', 'com.docker.stack.image': 'nginx:1.25' });
  assert.equal(web.TaskTemplate.ContainerSpec.Labels, { 'com.docker.stack.namespace': 'shop' });
  assert.equal(web.EndpointSpec, { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] });
  assert.equal(web.Mode, { Replicated: { Replicas: 2 } });
  assert.equal(web.UpdateConfig, { Parallelism: 1, Delay: 2e9, FailureAction: 'rollback', Monitor: 5e9, Order: 'start-first' });
  assert.equal(web.RollbackConfig, { Parallelism: 2 });
  assert.equal(web.TaskTemplate.ContainerSpec.Healthcheck, { Test: ['CMD', 'wget', '-q', '-O-', 'http://localhost/'], Interval: 5e9, Timeout: 2e9, StartPeriod: 90e9, Retries: 3 });
  assert.equal(web.TaskTemplate.ContainerSpec.Configs, [{ File: { Name: '/etc/nginx/conf.d/default.conf', UID: '0', GID: '0', Mode: 0o444 }, ConfigID: '', ConfigName: 'shop_nginx_conf' }]);
  assert.equal(web.TaskTemplate.Networks, [{ Target: 'shop_front', Aliases: ['web'] }]);
});

test('api: command split, env merged from env_file and environment, resources, restart, placement, dnsrr', () => {
  const api = svc(plan(REALISTIC), 'api');
  const c = api.TaskTemplate.ContainerSpec;
  assert.equal(c.Args, ['serve', '--port', '9000']);
  assert.is(c.Command, undefined);
  assert.equal(c.Env, ['DB_HOST=db', 'FROM_ENV=yes', 'LOG=debug', 'PASS_THROUGH=p']);
  assert.equal(api.Labels, { tier: 'api', 'com.docker.stack.namespace': 'shop', 'com.docker.stack.image': 'example/api:1' });
  assert.equal(api.TaskTemplate.Resources, { Limits: { NanoCPUs: 5e8, MemoryBytes: 128 * 1024 * 1024 }, Reservations: { MemoryBytes: 64 * 1024 * 1024 } });
  assert.equal(api.TaskTemplate.RestartPolicy, { Condition: 'on-failure', Delay: 5e9, MaxAttempts: 3, Window: 120e9 });
  assert.equal(api.TaskTemplate.Placement, { Constraints: ['node.role == worker'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2 });
  assert.equal(api.EndpointSpec, { Mode: 'dnsrr' });
  assert.equal(api.TaskTemplate.Networks, [{ Target: 'shop_back', Aliases: ['api'] }, { Target: 'shop_front', Aliases: ['backend', 'api'] }]);
  assert.equal(c.Secrets, [{ File: { Name: 'db_password', UID: '0', GID: '0', Mode: 0o444 }, SecretID: '', SecretName: 'shop_db_password' }]);
});

test('worker: entrypoint, user, dir, hostname template, stop settings, caps, sysctls, ulimits, global', () => {
  const w = svc(plan(REALISTIC), 'worker');
  const c = w.TaskTemplate.ContainerSpec;
  assert.equal([c.Command, c.Args, c.User, c.Dir, c.Hostname], [['/bin/worker', '--queue'], ['jobs'], '1000:1000', '/work', '{{.Service.Name}}-{{.Task.Slot}}']);
  assert.equal([c.StopGracePeriod, c.StopSignal], [30e9, 'SIGINT']);
  assert.equal([c.CapabilityAdd, c.CapabilityDrop], [['NET_ADMIN'], ['MKNOD']]);
  assert.equal(c.Sysctls, { 'net.core.somaxconn': '1024' });
  assert.equal(c.Ulimits, [{ Name: 'nofile', Soft: 20000, Hard: 40000 }, { Name: 'nproc', Soft: 65535, Hard: 65535 }]);
  assert.equal(w.Mode, { Global: {} });
});

test('db: named volume scoped and labelled, bind resolved against the file, tmpfs, secret target and mode, restart key', () => {
  const db = svc(plan(REALISTIC), 'db');
  assert.equal(db.TaskTemplate.ContainerSpec.Mounts, [
    { Type: 'volume', Target: '/var/lib/postgresql/data', Source: 'shop_dbdata', VolumeOptions: { Labels: { 'com.docker.stack.namespace': 'shop' } } },
    { Type: 'bind', Source: '/app/init', Target: '/docker-entrypoint-initdb.d', ReadOnly: true },
    { Type: 'tmpfs', Target: '/run/pg' },
  ]);
  assert.equal(db.TaskTemplate.ContainerSpec.Secrets, [{ File: { Name: 'pgpass', UID: '70', GID: '0', Mode: 0o400 }, SecretID: '', SecretName: 'shop_db_password' }]);
  assert.equal(db.TaskTemplate.RestartPolicy, { Condition: 'on-failure', MaxAttempts: 5 });
});

test('a service without networks joins STACK_default, which is created', () => {
  const p = plan('services:\n  a: {image: x}\n');
  assert.equal(p.networks.map((n) => n.name), ['shop_default']);
  assert.equal(svc(p, 'a').TaskTemplate.Networks, [{ Target: 'shop_default', Aliases: ['a'] }]);
  assert.equal(svc(p, 'a').Mode, { Replicated: { Replicas: 1 } });
});

test('external and named objects keep their names and are not created', () => {
  const p = plan('services:\n  a:\n    image: x\n    networks: [pub]\n    secrets: [s]\n    volumes: ["v:/v"]\nnetworks:\n  pub: {external: true, name: public}\nsecrets:\n  s: {external: true}\nvolumes:\n  v: {name: shared}\n');
  assert.equal(p.networks, [{ key: 'pub', name: 'public', external: true }]);
  assert.equal(p.secrets.map((s) => [s.name, s.external]), [['s', true]]);
  assert.equal(svc(p, 'a').TaskTemplate.ContainerSpec.Mounts?.[0].Source, 'shared');
});

test('ports: short forms, ranges, protocols, long syntax, host mode', () => {
  const p = plan('services:\n  a:\n    image: x\n    ports: ["53:53/udp", "9000-9001:8000-8001", "7000", {target: 22, published: 2222, mode: host}]\n');
  assert.equal(svc(p, 'a').EndpointSpec?.Ports, [
    { Protocol: 'tcp', TargetPort: 7000, PublishMode: 'ingress' },
    { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 22, PublishedPort: 2222, PublishMode: 'host' },
    { Protocol: 'tcp', TargetPort: 8000, PublishedPort: 9000, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 8001, PublishedPort: 9001, PublishMode: 'ingress' },
  ]);
});

test('health check forms: string is CMD-SHELL, disable is NONE', () => {
  const p = plan('services:\n  a:\n    image: x\n    healthcheck: {test: curl -f http://x/}\n  b:\n    image: x\n    healthcheck: {disable: true}\n');
  assert.equal(svc(p, 'a').TaskTemplate.ContainerSpec.Healthcheck, { Test: ['CMD-SHELL', 'curl -f http://x/'] });
  assert.equal(svc(p, 'b').TaskTemplate.ContainerSpec.Healthcheck, { Test: ['NONE'] });
});

test('a config with a template driver', () => {
  const p = plan('services:\n  a: {image: x, configs: [c]}\nconfigs:\n  c: {file: ./nginx.conf, template_driver: golang}\n');
  assert.equal([p.configs[0].data?.toString(), p.configs[0].templateDriver], ['server {}\n', 'golang']);
});

test('keys Docker ignores are warned about, as Docker does', () => {
  const p = plan('services:\n  a: {image: x, build: ., depends_on: [b], container_name: foo}\n  b: {image: y}\n');
  assert.equal(p.warnings, ['Ignoring unsupported options: build, depends_on', 'Ignoring deprecated options:\n\ncontainer_name: not supported in swarm mode\n']);
});

const refusals: [string, RegExp][] = [
  ['services:\n  a: {image: x, dns: 8.8.8.8}\n', /services\.a\.dns: DNS servers/],
  ['services:\n  a: {image: x, tty: true}\n', /services\.a\.tty: a terminal/],
  ['services:\n  a: {image: x, logging: {driver: syslog}}\n', /services\.a\.logging: a log driver/],
  ['services:\n  a: {image: x, cpus: 0.5}\n', /services\.a\.cpus: "cpus" is not supported by shoal stack deploy/],
  ['services:\n  a: {image: x, ports: ["127.0.0.1:80:80"]}\n', /services\.a\.ports\[0\]: a host IP/],
  ['services:\n  a: {image: x, networks: [nope]}\n', /services\.a\.networks\.nope: service "a" references network "nope", which is not declared/],
  ['services:\n  a: {image: x, secrets: [nope]}\n', /services\.a\.secrets\[0\]: undefined secret "nope"/],
  ['services:\n  a: {image: x, volumes: ["nope:/d"]}\n', /services\.a\.volumes\[0\]: undefined volume "nope"/],
  ['services:\n  a: {image: x, volumes: ["./d:/d:z"]}\n', /volume mode "z" is not supported/],
  ['services:\n  a: {build: .}\n', /services\.a\.image: an image is required/],
  ['services:\n  a: {image: x, deploy: {mode: sometimes}}\n', /services\.a\.deploy\.mode: unknown mode "sometimes"/],
  ['services:\n  a: {image: x, deploy: {mode: global, replicas: 2}}\n', /replicas can only be used with replicated/],
  ['services:\n  a: {image: x, stop_grace_period: soon}\n', /services\.a\.stop_grace_period: invalid duration "soon"/],
  ['services:\n  a: {image: x, deploy: {resources: {limits: {memory: lots}}}}\n', /invalid size "lots"/],
  ['services:\n  a: {image: x}\nnetworks:\n  default: {driver: bridge}\n', /networks\.default\.driver: the "bridge" driver is not supported by Shoal \(overlay only\)/],
  ['services:\n  a: {image: x, volumes: ["v:/v"]}\nvolumes:\n  v: {driver: nfs}\n', /volumes\.v\.driver: the "nfs" volume driver/],
  ['services:\n  a: {image: x, volumes: ["v:/v"]}\nvolumes:\n  v: {labels: {a: b}}\n', /volumes\.v\.labels: volume labels/],
  ['services:\n  a: {image: x, secrets: [s]}\nsecrets:\n  s: {file: ./missing}\n', /secrets\.s\.file: cannot read \/app\/missing/],
  ['services:\n  a: {image: x, secrets: [s]}\nsecrets:\n  s: {file: ./db_password.txt, template_driver: jinja}\n', /unsupported template driver "jinja"/],
  ['services:\n  a: {image: x, healthcheck: {test: [RUN, x]}}\n', /must start with NONE, CMD or CMD-SHELL/],
];
for (const [yml, re] of refusals) {
  test(`refused: ${re.source.slice(0, 60)}`, () => assert.throws(() => plan(yml), re));
}

test('a bad stack name is refused', () => assert.throws(() => plan('services: {}\n', 'no/slash'), /invalid stack name/));

test('readStack merges files in order and names the file and line of a conversion error', () => {
  const files: Record<string, string> = {
    '/s/a.yml': 'services:\n  web:\n    image: nginx:1\n    deploy: {replicas: 1}\n',
    '/s/b.yml': 'services:\n  web:\n    image: nginx:${TAG}\n    deploy:\n      mode: spread\n',
  };
  const readFile = (p: string) => Buffer.from(files[p]);
  const p = readStack(['/s/a.yml'], 'st', { env: {}, readFile });
  assert.is(p.services[0].spec.TaskTemplate.ContainerSpec.Image, 'nginx:1');
  assert.throws(() => readStack(['/s/a.yml', '/s/b.yml'], 'st', { env: { TAG: '2' }, readFile }), /\/s\/b\.yml:5: services\.web\.deploy\.mode: unknown mode "spread"/);
  files['/s/b.yml'] = 'services:\n  web:\n    image: nginx:${TAG}\n';
  assert.is(readStack(['/s/a.yml', '/s/b.yml'], 'st', { env: { TAG: '2' }, readFile }).services[0].spec.TaskTemplate.ContainerSpec.Image, 'nginx:2');
});

test.run();
