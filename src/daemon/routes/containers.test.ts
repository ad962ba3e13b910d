import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apiError, parseTime } from './containers.ts';
import { ContainerConflictError, NoSuchContainerError } from '../../agent/engine/engine.ts';
import { FilterError } from '../../agent/engine/filters.ts';
import { ApiError } from '../../api/errors.ts';

test('since and until take Unix seconds with a fraction (as the CLI sends them) or RFC 3339', () => {
  assert.is(parseTime('1700000000.500000000', 'since'), 1700000000500);
  assert.is(parseTime('2026-12-06T10:00:00Z', 'since'), Date.parse('2026-12-06T10:00:00Z'));
  assert.is(parseTime('0', 'since'), undefined);
  assert.is(parseTime(null, 'until'), undefined);
  assert.throws(() => parseTime('yesterday', 'since'), /invalid value for since/);
});

test('engine errors become Docker\'s status codes at the boundary', () => {
  assert.is((apiError(new NoSuchContainerError('x')) as ApiError).status, 404);
  assert.is((apiError(new ContainerConflictError('Container x is not running')) as ApiError).status, 409);
  assert.is((apiError(new FilterError("invalid filter 'x'")) as ApiError).status, 400);
  const other = new Error('boom');
  assert.is(apiError(other), other);
});

test.run();
