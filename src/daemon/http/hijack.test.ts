// The router's upgrade path (Docker's hijacked streams, as `docker exec` uses them):
// the body arrives from the bytes node:http already read, the handler takes the
// connection over with its own 101, and a handler that does not answers normally.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { withServer } from './test-server.ts';
import { Router } from '../../common/router.ts';
import { NotFoundError } from '../../api/errors.ts';
import { Demuxer, frame } from '../../agent/engine/stdcopy.ts';

/** Sends an upgrade request (body in one or two writes, then `after`), returns everything the server wrote. */
function upgrade(port: number, path: string, body: string, opts: { split?: boolean; after?: Buffer } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks)));
    c.on('error', reject);
    c.on('connect', () => {
      const head = `POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      if (opts.split) {
        c.write(head + body.slice(0, 3));
        setImmediate(() => { c.write(body.slice(3)); if (opts.after) c.end(opts.after); });
      } else {
        c.write(head + body);
        if (opts.after) c.end(opts.after);
      }
    });
  });
}

/** A stand-in exec start: 101, then stdin echoed back framed on stdout, and the body's Tty on stderr. */
function echoRouter(): Router {
  return new Router().post('/exec/:id/start', async (ctx) => {
    const body = await ctx.body<{ Tty?: boolean }>();
    const hj = ctx.hijack!;
    hj.taken = true;
    hj.socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    hj.socket.write(frame(2, `tty=${body?.Tty}`));
    if (hj.head.length) hj.socket.unshift(hj.head);
    hj.socket.on('data', (d: Buffer) => hj.socket.write(frame(1, d)));
    hj.socket.on('end', () => hj.socket.end());
    hj.socket.resume();
  }).post('/containers/:id/attach', (ctx) => { throw new NotFoundError(`No such container: ${ctx.params.id}`); });
}

function parse(raw: Buffer): { status: string; frames: { stream: number; payload: Buffer }[] } {
  const end = raw.indexOf('\r\n\r\n');
  const status = raw.subarray(0, raw.indexOf('\r\n')).toString();
  return { status, frames: new Demuxer().push(raw.subarray(end + 4)) };
}

test('an upgraded exec start gets its body, answers 101 and streams stdin both ways intact', async () => {
  await withServer(echoRouter(), async (port) => {
    const binary = Buffer.from([0, 1, 2, 255, 13, 10, 0x80]);
    for (const split of [false, true]) {
      const r = parse(await upgrade(port, '/v1.41/exec/abc/start', '{"Detach":false,"Tty":true}', { split, after: binary }));
      assert.is(r.status, 'HTTP/1.1 101 UPGRADED');
      assert.is(r.frames[0].stream, 2);
      assert.is(r.frames[0].payload.toString(), 'tty=true');
      const echoed = Buffer.concat(r.frames.slice(1).map((f) => f.payload));
      assert.ok(echoed.equals(binary), `echoed ${[...echoed]}`);
    }
  });
});

test('an upgrade request to a handler that does not take it over gets an ordinary response', async () => {
  await withServer(echoRouter(), async (port) => {
    const raw = (await upgrade(port, '/containers/nope/attach', '')).toString();
    assert.match(raw, /^HTTP\/1.1 404/);
    assert.match(raw, /"message":"No such container: nope"/);
  });
});

test.run();
