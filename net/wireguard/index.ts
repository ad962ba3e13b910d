/** The WireGuard underlay of encrypted overlays: tunnel addresses and config text (pure), keys, and the supervised device. */
export * from './plan.ts';
export * from './keys.ts';
export * from './device.ts';
export * from './errors.ts';
