import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sdNotifyArgv, takeNotifySocket } from './sd-notify.ts';

test('outside systemd (no NOTIFY_SOCKET) nothing is sent', () => {
  assert.is(sdNotifyArgv({}, 42, { ready: true }), undefined);
});

test('under systemd, READY=1 is sent in the name of the daemon process', () => {
  assert.equal(sdNotifyArgv({ NOTIFY_SOCKET: '/run/systemd/notify' }, 42, { ready: true, status: 'api on unix:///run/shoal/shoal.sock' }),
    ['systemd-notify', '--pid=42', '--ready', '--status=api on unix:///run/shoal/shoal.sock']);
});

test('the socket is taken out of the environment, so runc and other children never see it', () => {
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/bin' };
  assert.is(takeNotifySocket(env), '/run/systemd/notify');
  assert.equal(env, { PATH: '/bin' });
  assert.is(takeNotifySocket({}), undefined);
});

test.run();
