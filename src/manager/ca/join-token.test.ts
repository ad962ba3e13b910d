import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, X509Certificate } from 'node:crypto';
import { InvalidArgumentError } from '../../api/errors.ts';
import { createRootCA } from './ca-signer.ts';
import { generateJoinToken, parseJoinToken, roleForJoinToken, tokenMatchesCA, constantTimeEqual } from './join-token.ts';

const NOW = Date.UTC(2026, 5, 1);
const root = await createRootCA({ now: NOW });
const otherRoot = await createRootCA({ now: NOW });
const fixed = (byte: number) => (n: number) => new Uint8Array(n).fill(byte);
let counter = 0;
const counting = (n: number) => new Uint8Array(n).fill(++counter);

function invalid(token: string): void {
  assert.throws(
    () => parseJoinToken(token),
    (e: Error) => e instanceof InvalidArgumentError && e.message === 'invalid join token',
    token,
  );
}

test('a token is SWMTKN-1-<50 base-36 digest>-<25 base-36 secret>', () => {
  const token = generateJoinToken(root.certPem, counting);
  assert.match(token, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
});

test('the digest is the root certificate\'s SHA-256 (of its DER) in base 36', () => {
  const token = generateJoinToken(root.certPem, counting);
  const der = new X509Certificate(root.certPem).raw;
  const hex = createHash('sha256').update(der).digest('hex');
  assert.is(token.split('-')[2], BigInt(`0x${hex}`).toString(36).padStart(50, '0'));
  assert.is(parseJoinToken(token).rootDigest, hex);
});

test('the secret is 128 bits of the random source, zero-padded to 25', () => {
  assert.is(generateJoinToken(root.certPem, fixed(0)).split('-')[3], '0'.repeat(25));
  const max = generateJoinToken(root.certPem, fixed(0xff));
  assert.is(max.split('-')[3], (2n ** 128n - 1n).toString(36));
  assert.is(parseJoinToken(max).secret, (2n ** 128n - 1n).toString(36));
  assert.is(generateJoinToken(root.certPem, fixed(7)), generateJoinToken(root.certPem, fixed(7)));
});

test('a token matches its own root CA and no other', () => {
  const token = generateJoinToken(root.certPem, counting);
  assert.ok(tokenMatchesCA(token, root.certPem));
  assert.not.ok(tokenMatchesCA(token, otherRoot.certPem));
  // Reformatted PEM (CRLF line endings) is the same certificate.
  assert.ok(tokenMatchesCA(token, root.certPem.replace(/\n/g, '\r\n')));
});

test('malformed tokens are refused with "invalid join token"', () => {
  const good = generateJoinToken(root.certPem, counting);
  const [, , digest, secret] = good.split('-');
  invalid('');
  invalid('SWMTKN');
  invalid('SWMTKN-1-abc-def');
  invalid(`SWMTKN-2-${digest}-${secret}`);
  invalid(`SWMTKN-2-1-${digest}-${secret}`);
  invalid(`XWMTKN-1-${digest}-${secret}`);
  invalid(`SWMTKN-1-${digest}-${secret}-x`);
  invalid(`SWMTKN-1-${digest.slice(1)}-${secret}`);
  invalid(`SWMTKN-1-${digest}-${secret}0`);
  invalid(`SWMTKN-1-${digest.toUpperCase()}-${secret}`);
  invalid(`SWMTKN-1-${digest}-${secret.slice(0, 24)}!`);
  invalid(` ${good}`);
  invalid(`SWMTKN-1-${'z'.repeat(50)}-${secret}`); // > 2^256
  invalid(`SWMTKN-1-${digest}-${'z'.repeat(25)}`); // > 2^128
  assert.throws(() => tokenMatchesCA('SWMTKN-1-x-y', root.certPem), /invalid join token/);
});

test('the presented token picks the role; wrong and rotated tokens are refused', () => {
  const tokens = { Worker: generateJoinToken(root.certPem, counting), Manager: generateJoinToken(root.certPem, counting) };
  assert.is(roleForJoinToken(tokens.Worker, tokens), 'worker');
  assert.is(roleForJoinToken(tokens.Manager, tokens), 'manager');
  const rotated = { ...tokens, Worker: generateJoinToken(root.certPem, counting) };
  assert.throws(() => roleForJoinToken(tokens.Worker, rotated), /A valid join token is necessary to join this cluster/);
  const foreign = generateJoinToken(otherRoot.certPem, counting);
  assert.throws(() => roleForJoinToken(foreign, tokens), (e: Error) => e instanceof InvalidArgumentError && /valid join token/.test(e.message));
  assert.throws(() => roleForJoinToken('SWMTKN-1-nope', tokens), /invalid join token/);
});

test('constantTimeEqual compares contents and lengths', () => {
  assert.ok(constantTimeEqual('abc', 'abc'));
  assert.not.ok(constantTimeEqual('abc', 'abd'));
  assert.not.ok(constantTimeEqual('abc', 'abcd'));
});

test.run();
