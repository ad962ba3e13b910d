import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { progressLines, rootRotationProgress } from './ca-progress.ts';

const info = (TrustRoot: string, key: string) => ({ TrustRoot, CertIssuerSubject: 'c3dhcm0tY2E=', CertIssuerPublicKey: key });
const node = (trust: string, key: string) => ({ Description: { Hostname: 'h', Platform: { Architecture: '', OS: '' }, Resources: { NanoCPUs: 0, MemoryBytes: 0 }, Engine: { EngineVersion: '', Labels: {}, Plugins: [] }, TLSInfo: info(trust, key) } });

test('certificates count as they renew; CA certificates only once the rotation is over', () => {
  const during = { TLSInfo: info('OLD', 'NEWKEY'), RootRotationInProgress: true };
  const p = rootRotationProgress(during, [node('OLD', 'NEWKEY'), node('OLD', 'OLDKEY'), node('OLD', 'NEWKEY')]);
  assert.equal([p.certsRotated, p.rootsRotated, p.total, p.done], [2, 0, 3, false]);
  assert.equal(progressLines(p).slice(1), ['  rotated TLS certificates: 2/3 nodes', '  rotated CA certificates: 0/3 nodes']);
  assert.match(p.digest, /^sha256:[0-9a-f]{64}$/);
});

test('the rotation is done when every node has the new issuer and trusts the new root', () => {
  const after = { TLSInfo: info('NEW', 'NEWKEY'), RootRotationInProgress: false };
  const half = rootRotationProgress(after, [node('NEW', 'NEWKEY'), node('OLD', 'NEWKEY')]);
  assert.equal([half.certsRotated, half.rootsRotated, half.done], [2, 1, false]);
  assert.ok(rootRotationProgress(after, [node('NEW', 'NEWKEY'), node('NEW', 'NEWKEY')]).done);
});

test.run();
