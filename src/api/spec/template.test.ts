import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TemplateError, checkTemplate, expandContainerSpec, expandTemplate, templateContext, type TemplateContext } from './template.ts';

const ctx: TemplateContext = {
  Service: { ID: 'svc1', Name: 'web', Labels: { tier: 'front' } },
  Node: { ID: 'node7', Hostname: 'host-a', Platform: { OS: 'linux', Architecture: 'x86_64' } },
  Task: { ID: 'tsk9', Name: 'web.3.tsk9', Slot: '3' },
};

test('expands every placeholder Docker offers', () => {
  assert.is(expandTemplate('{{.Service.Name}}-{{.Task.Slot}}', ctx), 'web-3');
  assert.is(expandTemplate('{{ .Service.ID }}/{{.Task.ID}}/{{.Task.Name}}', ctx), 'svc1/tsk9/web.3.tsk9');
  assert.is(expandTemplate('{{.Node.ID}}@{{.Node.Hostname}} {{.Node.Platform.OS}}/{{.Node.Platform.Architecture}}', ctx), 'node7@host-a linux/x86_64');
  assert.is(expandTemplate('{{index .Service.Labels "tier"}}', ctx), 'front');
});

test('text without placeholders is unchanged', () => {
  assert.is(expandTemplate('plain', ctx), 'plain');
});

test('unknown fields and unclosed actions are errors', () => {
  assert.throws(() => expandTemplate('{{.Task.Nope}}', ctx), (e: Error) => e instanceof TemplateError && /can't evaluate field Nope/.test(e.message));
  assert.throws(() => checkTemplate('{{.Service.Name'), (e: Error) => e instanceof TemplateError);
  assert.throws(() => checkTemplate('{{printf "%d" 1}}'), (e: Error) => e instanceof TemplateError);
});

test('hostname, env and mounts of a container spec are expanded', () => {
  const out = expandContainerSpec(
    {
      Image: 'busybox',
      Hostname: '{{.Service.Name}}-{{.Task.Slot}}',
      Env: ['NODE={{.Node.Hostname}}', 'PLAIN=1'],
      Mounts: [{ Type: 'volume', Source: 'data-{{.Task.Slot}}', Target: '/data/{{.Service.Name}}' }],
    },
    ctx,
  );
  assert.is(out.Hostname, 'web-3');
  assert.equal(out.Env, ['NODE=host-a', 'PLAIN=1']);
  assert.equal(out.Mounts, [{ Type: 'volume', Source: 'data-3', Target: '/data/web' }]);
});

test('the context of a replicated task uses its slot; a global task’s slot is its node', () => {
  const svc = { ID: 'svc1', Spec: { Name: 'web', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'x' } } } };
  const n = { ID: 'node7', Description: { Hostname: 'host-a', Platform: { OS: 'linux', Architecture: 'amd64' }, Resources: { NanoCPUs: 0, MemoryBytes: 0 }, Engine: { EngineVersion: '', Labels: {}, Plugins: [] } } };
  assert.equal(templateContext(svc, { ID: 'tsk9', Slot: 3, NodeID: 'node7' }, n).Task, { ID: 'tsk9', Name: 'web.3.tsk9', Slot: '3' });
  assert.equal(templateContext(svc, { ID: 'tsk9', Slot: 0, NodeID: 'node7' }, n).Task, { ID: 'tsk9', Name: 'web.node7.tsk9', Slot: 'node7' });
  assert.is(expandTemplate('{{.Node.Hostname}}', templateContext(svc, { ID: 't', Slot: 1 }, n)), 'host-a');
});

test.run();
