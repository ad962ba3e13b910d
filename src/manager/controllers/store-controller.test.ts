// The base controller's own rules, with a bare subclass over a MemoryStore.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { nullLogger, type Logger } from '../../common/logger.ts';
import { StoreController } from './store-controller.ts';

/** A controller that calls markLater but forgot onLater (a programming error). */
class Forgetful extends StoreController {
  protected markAll(): void {}
  protected onEvent(): void {}
  protected async pass(): Promise<void> {}
  arrive(key: string): void {
    this.markLater(key);
  }
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('markLater without onLater logs and drops the key, arming no timer that would throw', () => {
  const errors: string[] = [];
  const logger: Logger = { ...nullLogger, error: (m) => errors.push(m), child: () => logger };
  const c = new Forgetful(new MemoryStore(), logger, []);
  c.start();
  try {
    const before = timeouts();
    c.arrive('svc-1');
    assert.equal(errors, ['store controller: markLater without onLater; key dropped']);
    assert.is(timeouts(), before, 'no timer was armed');
  } finally {
    c.stop();
  }
});

test.run();
