// Helper process of restart.lab.test.ts: plays a daemon that starts tasks and is then
// killed with SIGKILL. Usage: restart-child.ts NAME DATA_ROOT STATE_DIR SPECS_JSON
// Prints one JSON line {pids: {taskId: pid}} when every task runs, then waits forever.
import { ImageService } from '../../images/image-service.ts';
import { Executor } from './executor.ts';
import type { TaskContainerSpec } from './types.ts';
import { join } from 'node:path';

const [name, dataRoot, stateDir, specsJson] = process.argv.slice(2);
const images = new ImageService({ root: join(dataRoot, 'images') });
const ex = new Executor({ name, dataRoot, stateDir, images });
await ex.restore();
const pids: Record<string, number> = {};
for (const spec of JSON.parse(specsJson) as TaskContainerSpec[]) {
  const c = ex.controller(spec);
  await c.prepare();
  await c.start();
  pids[spec.taskId] = c.inspect().pid!;
}
process.stdout.write(JSON.stringify({ pids }) + '\n');
setInterval(() => {}, 1 << 30);
