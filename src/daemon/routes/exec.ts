/**
 * `docker exec` for this node's task containers (Docker Engine API v1.41):
 * `POST /containers/{id}/exec`, `POST /exec/{id}/start` over the hijacked connection
 * (`101 UPGRADED`, `Upgrade: tcp`; stdout and stderr in Docker's 8-byte multiplexed
 * frames without a TTY, raw bytes with one; stdin from the client), `POST
 * /exec/{id}/resize` and `GET /exec/{id}/json` with the exit code.
 */
import type { Router } from '../../common/router.ts';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../api/errors.ts';
import { checkExecConfig, ExecConfigError } from '../../agent/engine/exec-process.ts';
import { NoSuchExecError, type ExecManager } from '../../agent/engine/exec-session.ts';
import { frame, STDERR, STDOUT } from '../../agent/engine/stdcopy.ts';
import { apiError } from './containers.ts';

function execError(err: unknown): unknown {
  if (err instanceof NoSuchExecError) return new NotFoundError(err.message, { cause: err });
  if (err instanceof ExecConfigError) return new InvalidArgumentError(err.message, { cause: err });
  return apiError(err);
}

async function guarded<T>(fn: () => Promise<T> | T): Promise<T> {
  try { return await fn(); } catch (err) { throw execError(err); }
}

/** Registers the exec routes on `router`. */
export function addExecRoutes(router: Router, execs: ExecManager): void {
  router.post('/containers/:id/exec', async (ctx) => {
    const body = await ctx.body<Record<string, unknown>>();
    const id = await guarded(() => execs.create(ctx.params.id, checkExecConfig(body)));
    ctx.res.setHeader('Content-Type', 'application/json');
    const text = JSON.stringify({ Id: id });
    ctx.res.writeHead(201, { 'Content-Length': Buffer.byteLength(text) }).end(text);
  });

  router.post('/exec/:id/start', async (ctx) => {
    const body = (await ctx.body<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] | null }>()) ?? {};
    const s = await guarded(() => execs.get(ctx.params.id));
    if (s.started) throw new ConflictError(`Error: Exec command ${s.id} has already run`);
    const tty = body.Tty ?? s.config.Tty ?? false;
    if (body.Detach) {
      const p = guarded(() => execs.start(s.id, undefined, { tty, consoleSize: body.ConsoleSize }));
      p.catch(() => {});
      ctx.res.writeHead(200).end();
      return;
    }
    const hj = ctx.hijack;
    if (!hj) throw new InvalidArgumentError('exec start: an attached start needs the connection upgraded (Connection: Upgrade, Upgrade: tcp)');
    // Checks before the 101: a container that stopped meanwhile is still an error response.
    await guarded(() => execs.ready(s.id));
    hj.taken = true;
    const sock = hj.socket;
    const contentType = 'application/vnd.docker.raw-stream';
    sock.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    const write = (stream: 1 | 2) => (d: Buffer) => { if (!sock.destroyed) sock.write(tty ? d : frame(stream, d)); };
    if (hj.head.length) sock.unshift(hj.head);
    try {
      await execs.start(s.id, { stdin: sock, stdout: write(STDOUT), stderr: write(STDERR) }, { tty, consoleSize: body.ConsoleSize });
    } catch (err) {
      const msg = (err as Error).message;
      if (!sock.destroyed) sock.write(tty ? Buffer.from(msg + '\r\n') : frame(STDERR, msg + '\n'));
    }
    sock.end();
  });

  router.post('/exec/:id/resize', async (ctx) => {
    const h = Number(ctx.query.get('h'));
    const w = Number(ctx.query.get('w'));
    if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw new InvalidArgumentError('resize: h and w must be positive integers');
    await guarded(() => execs.resize(ctx.params.id, h, w));
    ctx.res.writeHead(200).end();
  });

  router.get('/exec/:id/json', (ctx) => guarded(() => execs.inspect(ctx.params.id)));
}
