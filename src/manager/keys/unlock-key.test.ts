import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatUnlockKey, generateUnlockKey, parseUnlockKey } from './unlock-key.ts';
import { MalformedUnlockKeyError } from './errors.ts';

test('keys read like Docker\'s: SWMKEY-1- and 43 characters of unpadded base64', () => {
  const k = generateUnlockKey();
  assert.match(k, /^SWMKEY-1-[A-Za-z0-9+/]{43}$/);
  assert.equal(formatUnlockKey(parseUnlockKey(`  ${k}\n`)), k);
  // A key Docker printed (from its documentation) parses.
  assert.is(parseUnlockKey('SWMKEY-1-WuYH/IX284+lRcXuoVf38viIDK3HJEKY13MIHX+tTt8').length, 32);
});

test('text that is no key is refused as malformed (400)', () => {
  for (const bad of ['', 'hello', 'SWMKEY-1-', 'SWMKEY-2-WuYH/IX284+lRcXuoVf38viIDK3HJEKY13MIHX+tTt8', 'SWMKEY-1-short', 'SWMKEY-1-WuYH/IX284+lRcXuoVf38viIDK3HJEKY13MIHX+tTt8=']) {
    assert.throws(() => parseUnlockKey(bad), (e: unknown) => e instanceof MalformedUnlockKeyError && (e as MalformedUnlockKeyError).status === 400, bad);
  }
});

test.run();
