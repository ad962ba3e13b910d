import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateDir, writePrivateFile } from './private-fs.ts';

const mode = (p: string) => statSync(p).mode & 0o777;

test('privateDir makes missing folders 0700 and tightens an existing loose one', () => {
  const base = mkdtempSync(join(tmpdir(), 'shoal-pf-'));
  try {
    assert.is(mode(privateDir(join(base, 'a', 'b'))), 0o700);
    assert.is(mode(join(base, 'a')), 0o700, 'missing parents too');
    mkdirSync(join(base, 'loose'), { mode: 0o755 });
    privateDir(join(base, 'loose'));
    assert.is(mode(join(base, 'loose')), 0o700);
  } finally { rmSync(base, { recursive: true, force: true }); }
});

test('writePrivateFile writes 0600 even over a loose leftover temporary file', () => {
  const base = mkdtempSync(join(tmpdir(), 'shoal-pf-'));
  try {
    const f = join(base, 'record.json');
    writeFileSync(`${f}.tmp`, 'old', { mode: 0o644 });
    writePrivateFile(f, '{"env":["A=1"]}');
    assert.is(mode(f), 0o600);
  } finally { rmSync(base, { recursive: true, force: true }); }
});

test.run();
