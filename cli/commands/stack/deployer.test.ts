// stack deploy's calls against an in-memory fake of the API: what is created, updated
// (at the version read), pruned, and what a redeploy leaves alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service, ServiceSpec } from '../../../src/api/types/service.ts';
import type { Secret } from '../../../src/api/types/secret-config.ts';
import type { NetworkResource } from '../../network-api.ts';
import { loadCompose } from '../../compose/load.ts';
import { convertStack, type StackPlan } from '../../compose/convert.ts';
import { deployStack, type DeployApi, type ResolveImage } from './deployer.ts';

const NS = 'com.docker.stack.namespace';

/** The fake: objects by name, every mutating call recorded. */
class FakeApi implements DeployApi {
  services_ = new Map<string, Service>();
  networks_ = new Map<string, NetworkResource>();
  payloads = new Map<string, Secret>();
  calls: string[] = [];
  private n = 0;
  private id = () => `id${++this.n}`;

  async services(filters: Record<string, string[]>): Promise<Service[]> {
    const [k, v] = filters.label[0].split('=');
    return [...this.services_.values()].filter((s) => s.Spec.Labels?.[k] === v);
  }
  async remove(kind: string, id: string): Promise<void> {
    this.calls.push(`rm ${kind} ${id}`);
    for (const [name, s] of this.services_) if (s.ID === id) this.services_.delete(name);
  }
  async networks(filters: Record<string, string[]>): Promise<NetworkResource[]> {
    const [k, v] = filters.label[0].split('=');
    return [...this.networks_.values()].filter((n) => n.Labels[k] === v);
  }
  async network(name: string): Promise<NetworkResource | undefined> { return this.networks_.get(name); }
  async createNetwork(body: { Name: string; Labels: Record<string, string> }): Promise<{ Id: string }> {
    this.calls.push(`create network ${body.Name}`);
    const Id = this.id();
    this.networks_.set(body.Name, { Name: body.Name, Id, Labels: body.Labels, Scope: 'swarm' } as NetworkResource);
    return { Id };
  }
  async payload(kind: 'secret' | 'config', name: string): Promise<Secret | undefined> { return this.payloads.get(`${kind}/${name}`); }
  async createPayload(kind: 'secret' | 'config', spec: Record<string, unknown>): Promise<string> {
    this.calls.push(`create ${kind} ${String(spec.Name)}`);
    const ID = this.id();
    this.payloads.set(`${kind}/${String(spec.Name)}`, { ID, Version: { Index: 1 }, Spec: spec } as unknown as Secret);
    return ID;
  }
  async updatePayload(kind: 'secret' | 'config', o: Secret): Promise<void> { this.calls.push(`update ${kind} ${o.Spec.Name} v${o.Version.Index}`); }
  async createService(spec: ServiceSpec): Promise<string> {
    this.calls.push(`create service ${spec.Name}`);
    const ID = this.id();
    this.services_.set(spec.Name!, { ID, Version: { Index: 1 }, Spec: spec, CreatedAt: '', UpdatedAt: '' });
    return ID;
  }
  async updateService(s: Service, spec: ServiceSpec): Promise<void> {
    this.calls.push(`update service ${spec.Name} v${s.Version.Index}`);
    this.services_.set(spec.Name!, { ...s, Version: { Index: s.Version.Index + 1 }, Spec: spec, PreviousSpec: s.Spec });
  }
}

/** Resolves with the rejection's message ('' when it resolved). */
const rejection = (p: Promise<unknown>) => p.then(() => '', (err: Error) => err.message);

const FILES: Record<string, string> = { '/s/pw': 'pw' };
function plan(yml: string): StackPlan {
  return convertStack(loadCompose('s.yml', yml, () => undefined).data, 'st', { workingDir: '/s', env: () => undefined, readFile: (p) => Buffer.from(FILES[p]) });
}
const YML = (tag: string, extra = '') => `services:\n  web:\n    image: web:${tag}\n    secrets: [pw]\n    networks: [front]\n  api:\n    image: api:1\n${extra}networks:\n  front: {}\nsecrets:\n  pw: {file: ./pw}\n`;

async function deploy(api: FakeApi, p: StackPlan, o: { prune?: boolean; resolveImage?: ResolveImage } = {}) {
  const out: string[] = [];
  const warnings: string[] = [];
  await deployStack(api, p, { prune: o.prune ?? false, resolveImage: o.resolveImage ?? 'never', log: (l) => out.push(l), warn: (w) => warnings.push(w) });
  return { out, warnings };
}

test('a first deploy creates networks, then secrets, then services, with the secret IDs filled in', async () => {
  const api = new FakeApi();
  const { out } = await deploy(api, plan(YML('1')));
  assert.equal(out, ['Creating network st_default', 'Creating network st_front', 'Creating secret st_pw', 'Creating service st_api', 'Creating service st_web']);
  const web = api.services_.get('st_web')!;
  assert.is(web.Spec.TaskTemplate.ContainerSpec.Secrets?.[0].SecretID, api.payloads.get('secret/st_pw')!.ID);
  assert.is(web.Spec.Labels?.[NS], 'st');
});

test('a redeploy updates every service at the version it read, creates nothing, updates the secret\'s labels', async () => {
  const api = new FakeApi();
  await deploy(api, plan(YML('1')));
  api.calls = [];
  const { out } = await deploy(api, plan(YML('2')));
  assert.equal(api.calls, ['update secret st_pw v1', 'update service st_api v1', 'update service st_web v1']);
  assert.match(out.join('\n'), /Updating service st_web \(id: id\d+\)/);
  assert.is(api.services_.get('st_web')!.Spec.TaskTemplate.ContainerSpec.Image, 'web:2');
});

test('a redeploy keeps ForceUpdate, and --resolve-image changed keeps the running image when the file did not change it', async () => {
  const api = new FakeApi();
  await deploy(api, plan(YML('1')));
  const web = api.services_.get('st_web')!;
  web.Spec = { ...web.Spec, TaskTemplate: { ...web.Spec.TaskTemplate, ForceUpdate: 3, ContainerSpec: { ...web.Spec.TaskTemplate.ContainerSpec, Image: 'web:1@sha256:abc' } } };
  const { warnings } = await deploy(api, plan(YML('1')), { resolveImage: 'changed' });
  const after = api.services_.get('st_web')!.Spec;
  assert.is(after.TaskTemplate.ForceUpdate, 3);
  assert.is(after.TaskTemplate.ContainerSpec.Image, 'web:1@sha256:abc');
  assert.equal(warnings, []);
  const again = await deploy(api, plan(YML('2')), { resolveImage: 'changed' });
  assert.is(api.services_.get('st_web')!.Spec.TaskTemplate.ContainerSpec.Image, 'web:2');
  assert.is(again.warnings.length, 1, 'a changed image would be resolved: Shoal says it cannot');
  assert.match(again.warnings[0], /image web:2 could not be accessed on a registry/);
});

test('--prune removes the stack\'s services no longer in the file, and only those', async () => {
  const api = new FakeApi();
  await deploy(api, plan(YML('1', '  extra:\n    image: x\n')));
  await api.createService({ Name: 'other', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'x' } } });
  api.calls = [];
  const { out } = await deploy(api, plan(YML('1')), { prune: true });
  assert.equal(out[0], 'Removing service st_extra');
  assert.equal([...api.services_.keys()].sort(), ['other', 'st_api', 'st_web']);
  const noPrune = new FakeApi();
  await deploy(noPrune, plan(YML('1', '  extra:\n    image: x\n')));
  await deploy(noPrune, plan(YML('1')));
  assert.ok(noPrune.services_.has('st_extra'), 'without --prune nothing is removed');
});

test('external objects must exist; they are used, not created', async () => {
  const api = new FakeApi();
  const ext = 'services:\n  a:\n    image: x\n    networks: [pub]\n    secrets: [s]\nnetworks:\n  pub: {external: true}\nsecrets:\n  s: {external: true, name: shared}\n';
  assert.match(await rejection(deploy(api, plan(ext))), /network "pub" is declared as external, but could not be found/);
  await api.createNetwork({ Name: 'pub', Labels: {} });
  assert.match(await rejection(deploy(api, plan(ext))), /secret not found: shared/);
  const id = await api.createPayload('secret', { Name: 'shared', Labels: {} });
  api.calls = [];
  await deploy(api, plan(ext));
  assert.equal(api.calls, ['create service st_a']);
  assert.is(api.services_.get('st_a')!.Spec.TaskTemplate.ContainerSpec.Secrets?.[0].SecretID, id);
});

test.run();
