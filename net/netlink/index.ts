/** rtnetlink for the data plane: request builders (pure), per-namespace relays, and the host's link watch. */
export * from './messages.ts';
export * from './netns-netlink.ts';
export * from './repair.ts';
export * from './own-netns.ts';
