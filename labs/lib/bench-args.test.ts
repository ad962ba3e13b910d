import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkArgs } from './bench-args.ts';

test('known flags pass; an unknown one, a stray word and a missing value are refused, named', () => {
  checkArgs('b', ['--n', '3', '--quiet', '--m', 'x'], ['n', 'm'], ['quiet']);
  checkArgs('b', [], ['n']);
  assert.throws(() => checkArgs('b', ['--nn', '3'], ['n']), /^b: unknown argument "--nn"$/);
  assert.throws(() => checkArgs('b', ['3'], ['n']), /b: unknown argument "3"/);
  assert.throws(() => checkArgs('b', ['--n'], ['n']), /b: --n wants a value/);
  assert.throws(() => checkArgs('b', ['--n', '--quiet'], ['n'], ['quiet']), /b: --n wants a value/);
});

test.run();
