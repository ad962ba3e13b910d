// Forked by netns-socket.ts inside a network namespace (through nsenter): binds one UDP
// socket at argv ADDRESS PORT and hands it to the parent over the IPC channel; it exits
// when the parent disconnects (so its exit never races the handoff).
// Plain JS so it runs without a loader.
import dgram from 'node:dgram';

const [address, port] = process.argv.slice(2);
const socket = dgram.createSocket('udp4');
socket.on('error', (err) => process.send({ error: err.message }, () => process.exit(1)));
socket.bind(Number(port), address, () => process.send('bound', socket, () => socket.close()));
