/**
 * Which task path (net/overlay's `TaskPath`) a new sandbox gets: the one place the agent
 * decides it, free of I/O.
 *
 * `macvlan` (each task interface a macvlan on the sandbox's vxlan0, the gateway address on
 * `gw0`) skips the sandbox bridge and one veth crossing per packet each way: about 11 %
 * more single-stream and 20 % more 4-stream throughput (net/overlay/PERFORMANCE.md). It is
 * used wherever nothing needs a port on a sandbox bridge:
 * - the ingress sandbox keeps the bridge: the routing mesh's `shoal-ingress` veth from the
 *   node netns is a bridge port (plan.ts `ingressLink`), and vxlan0 cannot be a bridge port
 *   and a macvlan lower at once (a device has one rx handler);
 * - encrypted overlays need nothing of the bridge: their VXLAN runs between WireGuard
 *   tunnel addresses in the node netns (wireguard-plane.ts), the sandbox side is the same;
 * - the node-local gateway (gateway.ts, `shoal-gw`) is a bridge of its own in the node
 *   netns with its own veth into the task: no sandbox part.
 * A sandbox keeps the path it was made with for its life (state.ts `taskPath`; a record
 * without one was made by an older agent, with a bridge, and stays so).
 */
import { LO_UP, attachTask, checkTaskPath as checkOverlayTaskPath, type TaskPath } from '../../../net/overlay/index.ts';
import { NetworkAgentError } from './plan.ts';

/** The agent's default for overlay sandboxes (NetworkAgentOptions `taskPath`). */
export const DEFAULT_TASK_PATH: TaskPath = 'macvlan';

/** The task path of a new sandbox: `preferred`, except `bridge` for the ingress network. */
export function sandboxTaskPath(sandbox: { ingress: boolean }, preferred: TaskPath = DEFAULT_TASK_PATH): TaskPath {
  checkTaskPath(preferred);
  return sandbox.ingress ? 'bridge' : preferred;
}

/**
 * Refuses anything but `bridge` and `macvlan` (net/overlay's `checkTaskPath`) as a
 * NetworkAgentError naming the option; the overlay's error is its cause.
 */
export function checkTaskPath(p: unknown): asserts p is TaskPath {
  try {
    checkOverlayTaskPath(p);
  } catch (err) {
    throw new NetworkAgentError(`unknown taskPath "${String(p)}" (want 'bridge' or 'macvlan')`, { cause: err });
  }
}

/** The path of a recorded sandbox: one without a `taskPath` was made by an older agent, with a bridge. */
export function recordedTaskPath(sb: { taskPath?: TaskPath }): TaskPath {
  return sb.taskPath ?? 'bridge';
}

/**
 * The batches that join attachment `at.index` (address `at.ip`/`at.bits`) of the task in
 * netns `at.netns` to sandbox `sb`, on the path `sb` was made with (net/overlay's
 * `attachTask`): `sandbox` for the sandbox's netns, `task` for the task's, without the
 * `lo` line (the agent makes a task's netns with `lo` up). An attach uses it, and the
 * repair that makes a task's macvlan again after its lower device went.
 */
export function attachmentLines(
  sb: { mtu: number; taskPath?: TaskPath },
  at: { netns: string; index: number; ip: string; bits: number },
): { sandbox: string[]; task: string[] } {
  const lines = attachTask({ taskNetns: at.netns, index: at.index, ip: at.ip, prefixBits: at.bits, mtu: sb.mtu, taskPath: recordedTaskPath(sb) });
  return { sandbox: lines.sandbox, task: lines.task.filter((l) => l !== LO_UP) };
}
