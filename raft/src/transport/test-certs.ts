/**
 * Test helper (not part of the library's API): a throw-away CA and node certificates
 * made with `openssl` in a temp dir. Each node certificate is valid for 127.0.0.1 and
 * localhost and for both server and client auth, so it serves mutual TLS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  ca: string;
  /** Certificates by name, each signed by `ca`. */
  certs: Record<string, { cert: string; key: string }>;
  /** A certificate signed by another CA (for refusal tests). */
  stranger: { cert: string; key: string };
}

function ossl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function makeCa(dir: string, name: string): void {
  ossl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
}

function makeCert(dir: string, ca: string, name: string): { cert: string; key: string } {
  writeFileSync(join(dir, `${name}.ext`),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  ossl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  ossl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  return { cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

/** Makes a CA, one certificate per name, and a stranger's certificate; removes the temp dir. */
export function makeTestPki(names: string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'raft-pki-'));
  try {
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    const certs: TestPki['certs'] = {};
    for (const n of names) certs[n] = makeCert(dir, 'ca', n);
    const stranger = makeCert(dir, 'other-ca', 'stranger');
    return { ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), certs, stranger };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
