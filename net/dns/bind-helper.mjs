// Forked by netns-socket.ts inside a network namespace (through nsenter): binds a UDP
// socket and a TCP listener at argv ADDRESS PORT and hands them
// to the parent over the IPC channel; it exits when the parent disconnects (so its exit never races the handoff).
// Plain JS so it runs without a loader.
import dgram from 'node:dgram';
import net from 'node:net';

const [address, port] = process.argv.slice(2);
const fail = (err) => process.send({ error: err.message }, () => process.exit(1));
// Each handle is closed here once sent: the parent holds its own copy.
const sendUdp = (next) => {
  const socket = dgram.createSocket('udp4');
  socket.on('error', fail);
  socket.bind(Number(port), address, () => process.send('bound', socket, () => { socket.close(); next(); }));
};
const sendTcp = () => {
  const server = net.createServer();
  server.on('error', fail);
  server.listen(Number(port), address, () => process.send('bound', server, () => server.close()));
};
sendUdp(sendTcp); // udp first: the parent takes them in this order
