/**
 * This node's part in encrypted overlays: one WireGuard device in the host netns
 * (`net/wireguard/device.ts`: the kernel's, or a supervised foreground `wireguard-go`),
 * brought up when the leader's view first gives this node an encrypted network, kept in
 * step with the view's peers and swarm key (`wg syncconf`: a rotated key or a new peer
 * leaves open sessions alone), and removed when no encrypted network is left.
 *
 * The node's private key lives in `<dataRoot>/swarm/wireguard/private.key` (0600) and
 * never leaves it; the public key goes out in the node's description. The swarm key
 * arrives in each view over the mTLS session and is never written to disk here.
 */
import { join } from 'node:path';
import type { Logger } from '../../common/logger.ts';
import type { NodeNetworkView, ViewWireGuard } from '../../wire/network-view-types.ts';
import {
  WgDevice, interfaceName, loadOrCreateKeyPair, removeKeyPair, renderConfig, tunnelMtu, WIREGUARD_PORT, type WgDeviceOptions, type WgKeyPair, type WgPath,
} from '../../../net/wireguard/index.ts';
import { DEFAULT_OVERLAY_MTU } from '../../api/types/network.ts';

/** Where the node's private key is kept. */
export function wireguardKeyFile(dataRoot: string): string {
  return join(dataRoot, 'swarm', 'wireguard', 'private.key');
}

/** The interface name of this node's device: from its public key (unique per node, ≤ 15 chars). */
export function wireguardInterface(publicKey: string): string {
  return interfaceName(publicKey);
}

/** Underlay MTU assumed under the tunnel (the one `DEFAULT_OVERLAY_MTU` assumes). */
const UNDERLAY_MTU = DEFAULT_OVERLAY_MTU + 50;
/** The tunnel device's MTU. */
export const TUNNEL_MTU = tunnelMtu(UNDERLAY_MTU);
/** The most an encrypted overlay's interfaces may carry: the tunnel's MTU less VXLAN's 50 bytes. */
export const ENCRYPTED_OVERLAY_MTU = TUNNEL_MTU - 50;

/** The view as the state file keeps it: without the swarm key (secrets never go to disk here). */
export function viewForDisk(view: NodeNetworkView): NodeNetworkView {
  if (!view.wireguard) return view;
  return { ...view, wireguard: { ...view.wireguard, key: '' } };
}

/** What `network inspect` shows of this node's encryption. */
export interface WireGuardStatus {
  interface: string;
  path: WgPath | undefined;
  address: string | undefined;
  keyGeneration: number | undefined;
  peers: number;
}

export interface WireGuardPlaneOptions {
  dataRoot: string;
  logger: Logger;
  /** Netns of the device (labs whose hosts are namespaces); default: the daemon's own. */
  hostNetns?: string;
  /** Implementation choice (default 'auto': kernel when it works, else wireguard-go). */
  mode?: 'auto' | 'kernel' | 'userspace';
  /** Makes the device (tests: an in-memory one); default a `WgDevice`. */
  device?: (opts: WgDeviceOptions) => TunnelDevice;
}

/** What the plane needs of a device (`WgDevice` has this shape). */
export interface TunnelDevice {
  readonly path: WgPath | undefined;
  up(): Promise<WgPath>;
  configure(text: string): Promise<void>;
  down(): Promise<void>;
}

export class WireGuardPlane {
  private readonly keys: WgKeyPair;
  private device: TunnelDevice | undefined;
  private current: ViewWireGuard | undefined;
  private lastConfig: string | undefined;
  private readonly waiters = new Set<(addr: string) => void>();

  constructor(private readonly opts: WireGuardPlaneOptions) {
    this.keys = loadOrCreateKeyPair(wireguardKeyFile(opts.dataRoot));
  }

  /** The device's name. */
  get interfaceName(): string { return wireguardInterface(this.keys.publicKey); }

  /** This node's tunnel address while the device is up. */
  address(): string | undefined {
    return this.device?.path ? this.current?.address : undefined;
  }

  /** Resolves with the tunnel address once the device is up (an encrypted sandbox needs it); rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<string> {
    const now = this.address();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const done = (addr: string) => { clearTimeout(t); this.waiters.delete(done); resolve(addr); };
      const t = setTimeout(() => { this.waiters.delete(done); reject(new Error('network: no WireGuard tunnel for encrypted networks yet (no view with a network key)')); }, timeoutMs);
      this.waiters.add(done);
    });
  }

  /**
   * Makes the device match the view: up and configured when it has a `wireguard` part
   * with a key, down when it has none (a saved view without the key changes nothing).
   */
  async apply(view: NodeNetworkView): Promise<void> {
    const wg = view.wireguard;
    if (!wg) {
      if (view.networks.some((n) => n.encrypted)) return; // no key yet: keep what runs
      await this.down();
      return;
    }
    if (!wg.key) return; // a saved view: the key comes with the session's next one
    if (this.device && this.current && this.current.address !== wg.address) await this.down();
    if (!this.device) {
      const make = this.opts.device ?? ((o: WgDeviceOptions) => new WgDevice(o));
      this.device = make({
        name: this.interfaceName, address: wg.address, mtu: TUNNEL_MTU, netns: this.opts.hostNetns, mode: this.opts.mode,
        pidFile: join(this.opts.dataRoot, 'swarm', 'wireguard', 'wireguard-go.pid'),
        log: (level, msg, fields) => this.opts.logger[level](msg, fields),
      });
    }
    await this.device.up();
    const text = renderConfig({
      privateKey: this.keys.privateKey, listenPort: WIREGUARD_PORT, presharedKey: wg.key,
      peers: wg.peers.map((p) => ({ publicKey: p.publicKey, endpoint: p.endpoint, address: p.address })),
    });
    if (text !== this.lastConfig) {
      await this.device.configure(text);
      if (this.current?.keyGeneration !== wg.keyGeneration) this.opts.logger.info('network: WireGuard key applied', { generation: wg.keyGeneration, peers: wg.peers.length });
      this.lastConfig = text;
    }
    this.current = wg;
    for (const w of [...this.waiters]) w(wg.address);
  }

  /** What inspect shows. */
  status(): WireGuardStatus {
    return {
      interface: this.interfaceName, path: this.device?.path, address: this.address(),
      keyGeneration: this.current?.keyGeneration, peers: this.current?.peers.length ?? 0,
    };
  }

  /** Removes the device (wireguard-go killed by its PID). */
  async down(): Promise<void> {
    const d = this.device;
    this.device = undefined;
    this.current = undefined;
    this.lastConfig = undefined;
    if (d) {
      await d.down();
      this.opts.logger.info('network: WireGuard device removed', { device: this.interfaceName });
    }
  }

  /** Leaving the swarm: the device and the key pair go (a later join states a new key). */
  async remove(): Promise<void> {
    await this.down();
    removeKeyPair(wireguardKeyFile(this.opts.dataRoot));
  }
}

/**
 * What the node states about itself for encrypted overlays (`Description.ShoalWireGuard`):
 * its public key (the key pair made on first use), the port and the implementation.
 */
export function wireguardIdentity(dataRoot: string, path: WgPath): { PublicKey: string; Port: number; Path: WgPath } {
  return { PublicKey: loadOrCreateKeyPair(wireguardKeyFile(dataRoot)).publicKey, Port: WIREGUARD_PORT, Path: path };
}
