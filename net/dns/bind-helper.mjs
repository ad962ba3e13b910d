// Forked by netns-socket.ts inside a network namespace (through nsenter): binds one UDP
// socket or TCP listener at argv PROTO ADDRESS PORT and hands it to the parent over the
// IPC channel; it exits when the parent disconnects (so its exit never races the handoff).
// Plain JS so it runs without a loader.
import dgram from 'node:dgram';
import net from 'node:net';

const [proto, address, port] = process.argv.slice(2);
const fail = (err) => process.send({ error: err.message }, () => process.exit(1));
if (proto === 'tcp') {
  const server = net.createServer();
  server.on('error', fail);
  server.listen(Number(port), address, () => process.send('bound', server, () => server.close()));
} else {
  const socket = dgram.createSocket('udp4');
  socket.on('error', fail);
  socket.bind(Number(port), address, () => process.send('bound', socket, () => socket.close()));
}
