// A long-lived rtnetlink helper inside one network namespace (started as
// `nsenter --net=/run/netns/NS node helper.mjs` by netns-netlink.ts).
//
// Why a process: a netlink socket acts in the namespace it was created in, and Node
// cannot switch namespaces, so a socket for a sandbox must be opened by a process that
// lives there. One per namespace, kept for its life: a change costs a line on a pipe
// and one netlink round trip (tens of µs), not a fork and exec of `ip`.
//
// Plain JavaScript on purpose: it starts with bare `node` (≈ 40 ms), without tsx.
//
// Protocol, one JSON object a line. In:  {"id":N,"reqs":[NlRequest…]} (messages.ts).
// Out: {"id":N,"done":K,"values":[…]} (all K ran; `index` requests' answers) or {"id":N,"done":K,"error":"…","code":"ENOENT"}
// (request K failed, the ones before it stay applied, the rest did not run, as `ip -batch`);
// {"event":"link-removed","ifname":"vxlan0","index":3} whenever a link goes away here.
import { createRequire } from 'node:module';
import { openSync, closeSync } from 'node:fs';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const { createRtNetlink, createNetlink } = require('netlink');

const sock = createRtNetlink({ ref: true });
// Link events on a raw socket: the rtnetlink wrapper would fully parse each one, and a
// bridge with many ports sends many (each port's change is news of the bridge too);
// only removals are read here, by hand (as messages.ts's `removedLink`).
const events = createNetlink(0 /* NETLINK_ROUTE */, { ref: true });
events.addMembership(1 /* RTNLGRP_LINK */);

/** Interface name → index; a miss asks the kernel, a removal forgets. */
const indexes = new Map();

/** RTM_DELLINK of a device (family AF_UNSPEC; AF_BRIDGE ones are ports leaving a bridge): its index and name. */
function removedLink(data) {
  if (data.length < 16 || data[0] !== 0) return undefined;
  const index = data.readInt32LE(4);
  for (let o = 16; o + 4 <= data.length;) {
    const len = data.readUInt16LE(o);
    if (len < 4) break;
    if ((data.readUInt16LE(o + 2) & 0x3fff) === 3 /* IFLA_IFNAME */) {
      const name = data.subarray(o + 4, o + len);
      const nul = name.indexOf(0);
      return { index, ifname: name.subarray(0, nul < 0 ? name.length : nul).toString('utf8') };
    }
    o += (len + 3) & ~3;
  }
  return undefined;
}

events.on('message', (msgs) => {
  for (const x of msgs) {
    if (x.type !== 17) continue; // RTM_DELLINK
    const r = removedLink(x.data);
    if (!r) continue;
    for (const [name, i] of indexes) if (i === r.index || name === r.ifname) indexes.delete(name);
    out({ event: 'link-removed', ifname: r.ifname, index: r.index });
  }
});

async function indexOf(name) {
  const have = indexes.get(name);
  if (have !== undefined) return have;
  const [link] = await sock.getLink({}, { ifname: name });
  indexes.set(name, link.data.index);
  return link.data.index;
}

/** `{ $hex }` → Buffer, recursively. */
function revive(v) {
  if (v && typeof v === 'object') {
    if (typeof v.$hex === 'string') return Buffer.from(v.$hex, 'hex');
    const o = Array.isArray(v) ? [] : {};
    for (const [k, x] of Object.entries(v)) o[k] = revive(x);
    return o;
  }
  return v;
}

async function runOne(req) {
  if (req.method === 'index') return indexOf(req.dev);
  const data = revive(req.data);
  const attrs = revive(req.attrs);
  if (req.dev !== undefined) {
    const i = await indexOf(req.dev);
    if (req.method.endsWith('Neighbor')) data.ifindex = i;
    else data.index = i;
  }
  if (req.master !== undefined) attrs.master = await indexOf(req.master);
  let fd;
  try {
    if (req.netns) {
      fd = openSync(req.netns.path, 'r');
      attrs.linkinfo.writeUInt32LE(fd, req.netns.at);
    }
    await sock[req.method](data, attrs, { flags: req.flags });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (req.method === 'delLink' && req.dev !== undefined) indexes.delete(req.dev);
}

// Requests run one batch at a time, in order: a batch's lines depend on earlier ones.
let queue = Promise.resolve();

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

createInterface({ input: process.stdin }).on('line', (text) => {
  let msg;
  try { msg = JSON.parse(text); } catch { return; }
  queue = queue.then(async () => {
    let done = 0;
    const values = [];
    for (const req of msg.reqs) {
      try {
        const v = await runOne(req);
        if (v !== undefined) values.push(v);
      } catch (err) {
        // The package says "Request rejected: ENOENT"; a missing name is ENODEV, as `ip` says.
        const code = /Request rejected: (\w+)/.exec(String(err?.message))?.[1] ?? (req.dev && !indexes.has(req.dev) ? 'ENODEV' : undefined);
        if (code === 'ENODEV' && req.dev !== undefined) indexes.delete(req.dev);
        out({ id: msg.id, done, error: `${req.line}: ${err?.message ?? err}`, code });
        return;
      }
      done++;
    }
    out({ id: msg.id, done, values });
  });
}).on('close', () => {
  // The daemon closed our stdin (or died): nothing else will ask.
  process.exit(0);
});

out({ event: 'ready', pid: process.pid });
