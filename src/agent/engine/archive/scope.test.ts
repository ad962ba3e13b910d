import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { followInScope, resolveDir, ScopeError, splitScoped, type Lookup, type ScopeOps } from './scope.ts';

type Node = { kind: 'dir' } | { kind: 'file' } | { kind: 'link'; target: string };

/** A host tree with the container root at /r and host files beside it (/secret). */
function model(entries: [string, Node][]): { tree: Map<string, Node>; ops: ScopeOps<string>; open: Map<string, number>; asked: string[] } {
  const tree = new Map<string, Node>([['/', { kind: 'dir' }], ['/r', { kind: 'dir' }], ['/secret', { kind: 'dir' }], ['/secret/key', { kind: 'file' }]]);
  for (const [p, n] of entries) {
    const parent = p.slice(0, p.lastIndexOf('/')) || '/';
    if (tree.get(parent)?.kind === 'dir' && !tree.has(p)) tree.set(p, n);
  }
  const open = new Map<string, number>();
  const asked: string[] = [];
  const hold = (h: string) => { open.set(h, (open.get(h) ?? 0) + 1); return h; };
  const ops: ScopeOps<string> = {
    root: () => hold('/r'),
    child(dir, name): Lookup<string> {
      assert.ok((open.get(dir) ?? 0) > 0, `child of a released handle ${dir}`);
      assert.ok(!name.includes('/') && name !== '..' && name !== '.', `bad name ${name}`);
      const p = `${dir}/${name}`;
      asked.push(p);
      const n = tree.get(p);
      if (!n) return { kind: 'missing' };
      if (n.kind === 'dir') return { kind: 'dir', handle: hold(p) };
      if (n.kind === 'link') return { kind: 'link', target: n.target };
      return { kind: 'other' };
    },
    mkdir(dir, name) { tree.set(`${dir}/${name}`, { kind: 'dir' }); },
    release(h) {
      const n = open.get(h) ?? 0;
      assert.ok(n > 0, `double release of ${h}`);
      if (n === 1) open.delete(h); else open.set(h, n - 1);
    },
  };
  return { tree, ops, open, asked };
}

/** The reference: Docker's FollowSymlinkInScope on path strings. */
function reference(tree: Map<string, Node>, path: string): string {
  let resolved: string[] = [];
  const queue = path.split('/').filter((c) => c && c !== '.');
  let links = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '..') { resolved = resolved.slice(0, -1); continue; }
    const n = tree.get(['/r', ...resolved, c].join('/'));
    if (!n) return 'ENOENT';
    if (n.kind === 'file') return 'ENOTDIR';
    if (n.kind === 'link') {
      if (++links > 255) return 'ELOOP';
      if (n.target.startsWith('/')) resolved = [];
      queue.unshift(...n.target.split('/').filter((x) => x && x !== '.'));
      continue;
    }
    resolved.push(c);
  }
  return '/' + resolved.join('/');
}

const name = fc.constantFrom('a', 'b', 'c');
const comp = fc.constantFrom('a', 'b', 'c', '..', '.', 'secret', 'r', '');
const target = fc.array(comp, { minLength: 1, maxLength: 6 }).chain((cs) => fc.boolean().map((abs) => (abs ? '/' : '') + cs.join('/')));
const node: fc.Arbitrary<Node> = fc.oneof(fc.constant<Node>({ kind: 'dir' }), fc.constant<Node>({ kind: 'file' }), target.map((t): Node => ({ kind: 'link', target: t })));
const entries = fc.array(fc.tuple(fc.array(name, { minLength: 1, maxLength: 3 }).map((cs) => '/r/' + cs.join('/')), node), { maxLength: 25 });
const query = fc.array(comp, { maxLength: 6 }).map((cs) => '/' + cs.join('/'));

test('resolution stays in the root, matches FollowSymlinkInScope, and releases every handle it does not return', () => {
  fc.assert(fc.property(entries, query, (es, q) => {
    const m = model(es);
    let got: string;
    try {
      const r = resolveDir(m.ops, q);
      got = r.path;
      assert.is(r.handle, r.path === '/' ? '/r' : `/r${r.path}`, 'the handle is the directory the path names');
      m.ops.release(r.handle);
    } catch (err) {
      if (!(err instanceof ScopeError)) throw err;
      got = err.code;
    }
    assert.is(got, reference(m.tree, q));
    assert.equal([...m.open.keys()], [], 'no handle leaked');
    for (const p of m.asked) assert.ok(p.startsWith('/r/'), `looked outside the root: ${p}`);
  }), { numRuns: 2000 });
});

test('a link that climbs out of the root or names a host path lands inside it', () => {
  const m = model([['/r/up', { kind: 'link', target: '../../../../secret' }], ['/r/abs', { kind: 'link', target: '/secret' }], ['/r/secret', { kind: 'dir' }]]);
  assert.is(resolveDir(m.ops, '/up').path, '/secret');
  assert.is(resolveDir(m.ops, '/abs').path, '/secret');
  assert.ok(m.asked.every((p) => p.startsWith('/r/')));
  const gone = model([['/r/up', { kind: 'link', target: '../../secret' }]]);
  assert.throws(() => resolveDir(gone.ops, '/up'), (e: ScopeError) => e.code === 'ENOENT');
});

test('a link loop is ELOOP, create makes missing directories', () => {
  const m = model([['/r/a', { kind: 'link', target: 'b' }], ['/r/b', { kind: 'link', target: '/a' }]]);
  assert.throws(() => resolveDir(m.ops, '/a/x'), (e: ScopeError) => e.code === 'ELOOP');
  const c = model([]);
  const r = resolveDir(c.ops, '/x/y/../z', { create: true });
  assert.is(r.path, '/x/z');
  assert.is(c.tree.get('/r/x/y')?.kind, 'dir');
});

test('followInScope gives where a link leads; splitScoped keeps the last component', () => {
  const m = model([['/r/etc', { kind: 'dir' }], ['/r/etc/l', { kind: 'link', target: '../../../etc/target' }], ['/r/abs', { kind: 'link', target: '/etc/l' }]]);
  assert.is(followInScope(m.ops, '/etc/l'), '/etc/target');
  assert.is(followInScope(m.ops, '/abs'), '/etc/target');
  assert.equal(m.open.size, 0);
  assert.equal(splitScoped('etc/hosts'), { dir: '/etc', base: 'hosts' });
  assert.equal(splitScoped('/etc/'), { dir: '/', base: 'etc' });
  assert.equal(splitScoped('/etc/.'), { dir: '/etc', base: '.' });
  assert.equal(splitScoped('/'), { dir: '/', base: '.' });
  assert.equal(splitScoped('/a/..'), { dir: '/a/..', base: '.' });
});

test.run();
