// A stand-in DNS child for dns-process.test.ts: stays up on the IPC channel, does nothing.
process.on('message', () => {});
process.on('disconnect', () => process.exit(0));
