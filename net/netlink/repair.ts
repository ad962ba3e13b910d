/**
 * Putting back a sandbox's VXLAN device that went away behind our back (someone ran
 * `ip link del vxlan0`, a tool flushed links), free of I/O: the lines of
 * `createSandbox` that make and set up the VXLAN device, and none of the bridge's, which
 * is still there with its task veths. On the `macvlan` task path the gateway macvlan
 * (`gw0`) went with its lower device, so its lines come too (the tasks' macvlans went as
 * well: the caller makes them again). Its peers are programmed again after (the FDB went
 * with the device), by the caller's next peer sync.
 */
import { GATEWAY_DEV, VXLAN_DEV, createSandbox, hostVxlanName, linesNaming, type Commands, type SandboxSpec } from '../overlay/plan.ts';

/** The batch that makes `vxlan0` again in `spec.sandbox` and puts it on the bridge (or `gw0` on it), up. */
export function vxlanRepair(spec: SandboxSpec): Commands {
  return linesNaming(createSandbox(spec), [hostVxlanName(spec.vni), VXLAN_DEV, GATEWAY_DEV]);
}
