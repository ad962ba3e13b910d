// The import-direction rules of DESIGN.md, checked through ESLint itself on sample
// sources placed (virtually) in each layer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ESLint } from 'eslint';
import { REPO_ROOT } from './daemon-process.ts';

const eslint = new ESLint({ cwd: REPO_ROOT });

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${REPO_ROOT}${filePath}` });
  return result.messages.filter((m) => m.ruleId === 'shoal/layers').map((m) => m.message);
}

const cases: [string, string, boolean][] = [
  ['raft/src/x.ts', "import '../../src/daemon/daemon.ts';", false],
  ['raft/src/x.ts', "import '../../net/x.ts';", false],
  ['raft/src/x.ts', "import './types.ts';", true],
  ['net/x.ts', "import '../src/api/client.ts';", false],
  ['net/x.ts', "import 'raft-ts';", false],
  ['net/x.ts', "import 'node:dgram';", true],
  ['cli/x.ts', "import '../src/daemon/config.ts';", false],
  ['cli/x.ts', "import '../net/x.ts';", false],
  ['cli/x.ts', "import '../src/api/client.ts';", true],
  ['cli/commands/x.ts', "import '../../src/api/types/system.ts';", true],
  ['src/x.ts', "import '../cli/main.ts';", false],
  ['src/x.ts', "import '../labs/lib/lab.ts';", false],
  ['src/x.ts', "import 'raft-ts';", true],
  ['src/x.ts', "import '../raft/src/types.ts';", false],
  ['labs/x.ts', "import '../src/daemon/daemon.ts';", true],
  ['raft/test/x.ts', "import '../src/types.ts';", true],
  ['cli/commands/daemon.ts', "const m = await import('../../src/daemon/main.ts');", true],
  ['cli/commands/info.ts', "const m = await import('../../src/daemon/main.ts');", false],
  ['src/x.ts', "export * from '../cli/main.ts';", false],
  ['src/agent/x.lab.test.ts', "import '../../labs/lib/lab.ts';", true],
  ['src/agent/x.test.ts', "import '../../labs/lib/lab.ts';", false],
  // The floors of src/ (SRC_FLOORS): production code imports its own folder and lower floors.
  ['src/agent/x.ts', "import '../manager/manager.ts';", false],
  ['src/manager/x.ts', "import '../agent/agent.ts';", false],
  ['src/manager/x.ts', "import '../swarm/dispatcher.ts';", false],
  ['src/common/x.ts', "import '../daemon/daemon.ts';", false],
  ['src/wire/x.ts', "import '../common/logger.ts';", false],
  ['src/swarm/x.ts', "import '../agent/agent.ts';", true],
  ['src/agent/x.ts', "import type { T } from '../wire/types.ts';", true],
  ['src/agent/x.ts', "const m = await import('../daemon/daemon.ts');", false],
  ['src/newfolder/x.ts', "import '../daemon/daemon.ts';", false],
  ['src/daemon/x.ts', "import '../newfolder/x.ts';", true],
  // Tests and their helpers may reach up for fixtures; production code never imports them.
  ['src/common/x.test.ts', "import '../manager/testing/fixtures.ts';", true],
  ['src/daemon/x.ts', "import '../store/testing.ts';", false],
  ['src/daemon/x.ts', "import './http/test-server.ts';", false],
  ['src/daemon/x.ts', "import './y.test.ts';", false],
  ['cli/x.ts', "import './y.test.ts';", false],
  ['labs/x.ts', "import '../src/store/testing.ts';", true],
];

for (const [file, code, allowed] of cases) {
  test(`${file}: ${code} is ${allowed ? 'allowed' : 'refused'}`, async () => {
    const errors = await restrictedImports(file, code);
    assert.is(errors.length === 0, allowed, errors.join('; '));
  });
}

test.run();
