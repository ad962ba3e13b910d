/** Embedded DNS: pure record logic (`resolve`) and a `dgram` server around it. */
export * from './records.ts';
export * from './server.ts';
export * from './errors.ts';
export * from './netns-socket.ts';
export { UDP_LIMIT } from './packets.ts';
