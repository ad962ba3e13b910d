/**
 * A throw-away PKI for the raft benchmark, made with `openssl` into `dir`: `ca.pem` and,
 * per member, `<id>.pem` / `<id>.key` valid for 127.0.0.1 with server and client auth
 * (mutual TLS between members).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function makePki(dir: string, ids: string[]): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=shoal-bench-ca');
  for (const id of ids) {
    writeFileSync(join(dir, `${id}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${id}.key`, '-out', `${id}.csr`, '-subj', `/CN=${id}`);
    run('x509', '-req', '-in', `${id}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${id}.pem`, '-days', '2', '-extfile', `${id}.ext`);
  }
}
