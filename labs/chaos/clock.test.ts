// Clock jumps through libfaketime, on a real Node process started the way the lab starts a
// daemon (clock.ts): rewriting the offset file steps Date.now forward and back while the
// process runs, performance.now (monotonic) does not move, and children are not faked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clockFile, fakeClockDaemonCommand, faketimeOffset, libfaketime, setClock } from './clock.ts';

test('faketimeOffset: libfaketime text, whole seconds with a sign', () => {
  assert.is(faketimeOffset(0), '+0');
  assert.is(faketimeOffset(120_000), '+120s');
  assert.is(faketimeOffset(-30_000), '-30s');
  assert.is(faketimeOffset(400), '+0');
});

/**
 * Runs a probe under the daemon command's environment: it prints, per line it reads on
 * stdin, Date.now() - (timeOrigin + performance.now()) (the wall clock's lead over the
 * monotonic one, ms) and whether a child it spawns still sees LD_PRELOAD.
 */
test('a process under the lab daemon command: wall clock steps, monotonic does not, children unfaked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-clock-'));
  try {
    const probe = `
      const { execFileSync } = await import('node:child_process');
      const t0 = performance.timeOrigin;
      process.stdin.on('data', () => {
        const child = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.env.LD_PRELOAD ?? ""))']).toString();
        process.stdout.write(JSON.stringify({ lead: Date.now() - (t0 + performance.now()), child }) + '\\n');
      });`;
    // The daemon argv's node and its --import, with the probe in place of the daemon.
    const argv = fakeClockDaemonCommand(libfaketime())({ host: 'h1', hostDir: dir, socket: join(dir, 's'), address: '10.0.0.1', registryAddress: '10.0.0.2:5000' });
    const cut = argv.indexOf('--import') + 2;
    const p = spawn(argv[0], [...argv.slice(1, cut), '--input-type=module', '-e', probe], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) lines.push(buf.slice(0, i));
    });
    // Asks until the probe's wall clock leads its monotonic clock by about `want` ms
    // (libfaketime reads the file again within a second).
    const lead = async (want: number): Promise<{ lead: number; child: string }> => {
      for (let i = 0; i < 100; i++) {
        const n = lines.length;
        p.stdin.write('\n');
        while (lines.length === n) await new Promise((r) => setTimeout(r, 20));
        const r = JSON.parse(lines[n]) as { lead: number; child: string };
        if (Math.abs(r.lead - want) < 2000) return r;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the probe's clock never led by ${want} ms: ${lines.at(-1)}`);
    };
    try {
      assert.is(readFileSync(clockFile(dir), 'utf8').trim(), '+0', 'the command creates the offset file at +0');
      const start = await lead(0);
      assert.is(start.child, '', 'a child of the faked process has no LD_PRELOAD');
      setClock(clockFile(dir), 300_000);
      await lead(300_000);
      setClock(clockFile(dir), -120_000);
      await lead(-120_000);
      setClock(clockFile(dir), 0);
      await lead(0);
    } finally {
      p.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
