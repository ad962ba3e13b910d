// Helper process of restart.lab.test.ts and create-start.lab.test.ts: plays a daemon that
// starts tasks and is then killed with SIGKILL.
// Usage: restart-child.ts NAME DATA_ROOT STATE_DIR SPECS_JSON [created]
// Prints one JSON line {pids: {taskId: pid}} when every task runs (with `created`: when
// every task is prepared and its container created early, not started), then waits forever.
import { ImageService } from '../../images/image-service.ts';
import { Executor } from './executor.ts';
import type { TaskContainerSpec } from './types.ts';
import { join } from 'node:path';

const [name, dataRoot, stateDir, specsJson, mode] = process.argv.slice(2);
const images = new ImageService({ root: join(dataRoot, 'images') });
const ex = new Executor({ name, dataRoot, stateDir, images });
await ex.restore();
const pids: Record<string, number> = {};
for (const spec of JSON.parse(specsJson) as TaskContainerSpec[]) {
  const c = ex.controller(spec);
  await c.prepare();
  if (mode === 'created') {
    while (!c.record?.created) await new Promise((r) => setTimeout(r, 10));
    pids[spec.taskId] = c.record.pid!;
    continue;
  }
  await c.start();
  pids[spec.taskId] = c.inspect().pid!;
}
process.stdout.write(JSON.stringify({ pids }) + '\n');
setInterval(() => {}, 1 << 30);
