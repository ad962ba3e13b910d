/** IPAM: pure allocation of subnets, addresses and VXLAN IDs over plain, storable state. */
export * from './ipam.ts';
export * from './errors.ts';
export { parseAddress, parsePrefix, formatAddress, formatPrefix, overlaps, ipVersion, type Prefix } from './cidr.ts';
export * from './ports.ts';
