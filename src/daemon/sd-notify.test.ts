import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sdNotifyArgv } from './sd-notify.ts';

test('outside systemd (no NOTIFY_SOCKET) nothing is sent', () => {
  assert.is(sdNotifyArgv({}, 42, { ready: true }), undefined);
});

test('under systemd, READY=1 is sent in the name of the daemon process', () => {
  assert.equal(sdNotifyArgv({ NOTIFY_SOCKET: '/run/systemd/notify' }, 42, { ready: true, status: 'api on unix:///run/shoal/shoal.sock' }),
    ['systemd-notify', '--pid=42', '--ready', '--status=api on unix:///run/shoal/shoal.sock']);
});

test.run();
