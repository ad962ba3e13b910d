import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkCreateConfig, checkName, CreateConfigError, parseBind, parseTmpfs } from './create-config.ts';

/** What the docker 28 CLI sends for `docker run --rm busybox true` (zero values included). */
function cliBody(extra: Record<string, unknown> = {}, hc: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false,
    OpenStdin: false, StdinOnce: false, Env: [], Cmd: ['true'], Image: 'busybox', Volumes: {}, WorkingDir: '', Entrypoint: null,
    OnBuild: null, Labels: {},
    HostConfig: {
      Binds: null, ContainerIDFile: '', LogConfig: { Type: '', Config: {} }, NetworkMode: 'bridge', PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: true, VolumeDriver: '', VolumesFrom: null, ConsoleSize: [40, 120],
      CapAdd: null, CapDrop: null, CgroupnsMode: '', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
      IpcMode: '', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false,
      SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 0, Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '',
      BlkioWeight: 0, BlkioWeightDevice: [], Devices: [], DeviceCgroupRules: null, DeviceRequests: null, MemoryReservation: 0,
      MemorySwap: 0, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, Ulimits: [], MaskedPaths: null, ReadonlyPaths: null, Init: null,
      ...hc,
    },
    NetworkingConfig: { EndpointsConfig: {} },
    ...extra,
  };
}

function refused(body: unknown, field: RegExp, status?: number): void {
  try {
    checkCreateConfig(body);
  } catch (err) {
    assert.instance(err, CreateConfigError);
    assert.match((err as Error).message, field);
    if (status) assert.is((err as CreateConfigError).status, status);
    return;
  }
  assert.unreachable(`refused: ${field}`);
}

test('the zero values the docker CLI sends pass and default to the bridge', () => {
  const c = checkCreateConfig(cliBody());
  assert.is(c.image, 'busybox');
  assert.equal(c.cmd, ['true']);
  assert.is(c.autoRemove, true);
  assert.equal(c.network, { mode: 'bridge' });
  assert.equal(c.mounts, []);
  assert.equal(c.consoleSize, [40, 120]);
});

test('the fields docker run sends are applied', () => {
  const c = checkCreateConfig(cliBody(
    { Env: ['A=1'], User: '1000:1000', WorkingDir: '/w', Labels: { a: 'b' }, Entrypoint: ['sh', '-c'], ExposedPorts: { '80/tcp': {} }, Volumes: { '/anon': {} } },
    { Binds: ['/srv:/srv:ro', 'data:/data'], Tmpfs: { '/t': 'size=1m,mode=700' }, PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
      Memory: 64 << 20, NanoCpus: 5e8, PidsLimit: 50, CapAdd: ['NET_ADMIN'], CapDrop: ['MKNOD'] },
  ));
  assert.equal(c.env, ['A=1']);
  assert.is(c.user, '1000:1000');
  assert.is(c.workdir, '/w');
  assert.equal(c.labels, { a: 'b' });
  assert.equal(c.entrypoint, ['sh', '-c']);
  assert.equal(c.mounts, [
    { type: 'bind', source: '/srv', target: '/srv', readOnly: true },
    { type: 'volume', source: 'data', target: '/data', readOnly: false },
    { type: 'tmpfs', target: '/t', tmpfsSize: 1 << 20, tmpfsMode: 0o700 },
  ]);
  assert.equal(c.anonymousVolumes, ['/anon']);
  assert.equal(c.ports, [{ protocol: 'tcp', port: 80, hostPort: 8080 }]);
  assert.equal(c.exposedPorts, ['80/tcp']);
  assert.equal(c.resources, { memoryBytes: 64 << 20, nanoCpus: 5e8, pidsLimit: 50 });
  assert.equal(c.capAdd, ['NET_ADMIN']);
  assert.equal(c.capDrop, ['MKNOD']);
});

test('host and none networks; ports only on the bridge', () => {
  assert.equal(checkCreateConfig(cliBody({}, { NetworkMode: 'host' })).network, { mode: 'host' });
  assert.equal(checkCreateConfig(cliBody({ NetworkingConfig: { EndpointsConfig: { none: {} } } }, { NetworkMode: 'none' })).network, { mode: 'none' });
  refused(cliBody({}, { NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostPort: '80' }] } }), /PortBindings.*bridge/, 400);
});

test('any other network is a swarm network (the leader checks it is an attachable overlay); one network only', () => {
  assert.equal(checkCreateConfig(cliBody({ NetworkingConfig: { EndpointsConfig: { app: {} } } }, { NetworkMode: 'app' })).network, { mode: 'overlay', name: 'app' });
  refused(cliBody({ NetworkingConfig: { EndpointsConfig: { app: {}, other: {} } } }, { NetworkMode: 'app' }), /a second network \(other\)/, 501);
  refused(cliBody({ NetworkingConfig: { EndpointsConfig: { app: { Aliases: ['x'] } } } }, { NetworkMode: 'app' }), /EndpointsConfig\.app\.Aliases/, 501);
  refused(cliBody({}, { NetworkMode: 'app', PortBindings: { '80/tcp': [{ HostPort: '80' }] } }), /PortBindings.*bridge/, 400);
});

test('what shoal does not do is refused naming the field', () => {
  refused(cliBody({}, { Dns: ['1.1.1.1'] }), /^HostConfig\.Dns:/, 501);
  refused(cliBody({}, { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }), /^HostConfig\.RestartPolicy:/, 501);
  refused(cliBody({}, { NetworkMode: 'container:abc' }), /NetworkMode/, 501);
  refused(cliBody({ Healthcheck: { Test: ['CMD', 'true'] } }), /^Healthcheck:/, 501);
  refused(cliBody({}, { LogConfig: { Type: 'syslog', Config: {} } }), /LogConfig\.Type/, 501);
  refused(cliBody({}, { MemorySwap: 1 << 30, Memory: 64 << 20 }), /MemorySwap/, 501);
  refused(cliBody({ NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ['x'] } } } }), /EndpointsConfig\.bridge\.Aliases/, 501);
  refused(cliBody({ Image: '' }), /^Image:/, 400);
  refused('nope', /JSON object/, 400);
});

test('binds and tmpfs are parsed as the CLI writes them', () => {
  assert.equal(parseBind('/a:/b'), { type: 'bind', source: '/a', target: '/b', readOnly: false });
  assert.equal(parseBind('vol:/b:nocopy'), { type: 'volume', source: 'vol', target: '/b', readOnly: false, volumeNoCopy: true });
  assert.throws(() => parseBind('/a'), /invalid volume specification/);
  assert.throws(() => parseBind('/a:rel'), /must be absolute/);
  assert.throws(() => parseBind('/a:/b:z'), /mode 'z'/);
  assert.equal(parseTmpfs('/run', ''), { type: 'tmpfs', target: '/run' });
  assert.throws(() => parseTmpfs('/run', 'size=big'), /invalid size/);
});

test('names follow Docker\'s rule', () => {
  assert.is(checkName('/web'), 'web');
  assert.throws(() => checkName('-x'), /Invalid container name/);
  assert.throws(() => checkName('a b'), /Invalid container name/);
});

test.run();
