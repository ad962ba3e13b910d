/** VIP load balancing on nftables: the desired ruleset (pure) and the adapters that apply it. */
export * from './ruleset.ts';
export * from './nft.ts';
export * from './nft-session.ts';
export * from './nft-spawner.ts';
export * from './vip-table.ts';
export * from './errors.ts';
export * from './mesh.ts';
export * from './mesh-table.ts';
export * from './session-cap.ts';
export * from './vip-netlink.ts';
