/**
 * Every `shoal` command, by id (topic and command separated by `:`; typed with spaces).
 * oclif loads this list instead of scanning folders (explicit strategy), which keeps
 * start-up fast and works from TypeScript sources.
 */
import Daemon from './daemon.ts';
import Events from './events.ts';
import Info from './info.ts';
import Version from './version.ts';
import ConfigCreate from './config/create.ts';
import ConfigInspect from './config/inspect.ts';
import ConfigLs from './config/ls.ts';
import ConfigRm from './config/rm.ts';
import ConfigRotate from './config/rotate.ts';
import ImageLoad from './image/load.ts';
import ImageLs from './image/ls.ts';
import ImagePrune from './image/prune.ts';
import ImagePull from './image/pull.ts';
import ImageRm from './image/rm.ts';
import NetworkCreate from './network/create.ts';
import NetworkInspect from './network/inspect.ts';
import NetworkLs from './network/ls.ts';
import NetworkRm from './network/rm.ts';
import NodeDemote from './node/demote.ts';
import NodeInspect from './node/inspect.ts';
import NodeLs from './node/ls.ts';
import NodePromote from './node/promote.ts';
import NodePs from './node/ps.ts';
import NodeStats from './node/stats.ts';
import NodeRm from './node/rm.ts';
import NodeUpdate from './node/update.ts';
import SecretCreate from './secret/create.ts';
import SecretInspect from './secret/inspect.ts';
import SecretLs from './secret/ls.ts';
import SecretRm from './secret/rm.ts';
import SecretRotate from './secret/rotate.ts';
import ServiceCreate from './service/create.ts';
import ServiceInspect from './service/inspect.ts';
import ServiceLogs from './service/logs.ts';
import ServiceLs from './service/ls.ts';
import ServicePs from './service/ps.ts';
import ServiceRm from './service/rm.ts';
import ServiceRollback from './service/rollback.ts';
import ServicePromote from './service/promote.ts';
import ServiceScale from './service/scale.ts';
import ServiceStats from './service/stats.ts';
import ServiceAutoscale from './service/autoscale.ts';
import ServiceUpdate from './service/update.ts';
import StackDeploy from './stack/deploy.ts';
import StackLs from './stack/ls.ts';
import StackPs from './stack/ps.ts';
import StackRm from './stack/rm.ts';
import StackServices from './stack/services.ts';
import SwarmBackup from './swarm/backup.ts';
import SwarmCa from './swarm/ca.ts';
import SwarmInit from './swarm/init.ts';
import SwarmInspect from './swarm/inspect.ts';
import SwarmJoin from './swarm/join.ts';
import SwarmJoinToken from './swarm/join-token.ts';
import SwarmLeave from './swarm/leave.ts';
import SwarmRestore from './swarm/restore.ts';
import SwarmUnlock from './swarm/unlock.ts';
import SwarmUnlockKey from './swarm/unlock-key.ts';
import SwarmUpdate from './swarm/update.ts';

export const COMMANDS = {
  daemon: Daemon,
  events: Events,
  info: Info,
  version: Version,
  'config:create': ConfigCreate,
  'config:inspect': ConfigInspect,
  'config:ls': ConfigLs,
  'config:rm': ConfigRm,
  'config:rotate': ConfigRotate,
  'image:load': ImageLoad,
  'image:ls': ImageLs,
  'image:prune': ImagePrune,
  'image:pull': ImagePull,
  'image:rm': ImageRm,
  'network:create': NetworkCreate,
  'network:inspect': NetworkInspect,
  'network:ls': NetworkLs,
  'network:rm': NetworkRm,
  'node:demote': NodeDemote,
  'node:inspect': NodeInspect,
  'node:ls': NodeLs,
  'node:promote': NodePromote,
  'node:ps': NodePs,
  'node:stats': NodeStats,
  'node:rm': NodeRm,
  'node:update': NodeUpdate,
  'secret:create': SecretCreate,
  'secret:inspect': SecretInspect,
  'secret:ls': SecretLs,
  'secret:rm': SecretRm,
  'secret:rotate': SecretRotate,
  'service:create': ServiceCreate,
  'service:inspect': ServiceInspect,
  'service:logs': ServiceLogs,
  'service:ls': ServiceLs,
  'service:ps': ServicePs,
  'service:rm': ServiceRm,
  'service:rollback': ServiceRollback,
  'service:promote': ServicePromote,
  'service:scale': ServiceScale,
  'service:stats': ServiceStats,
  'service:autoscale': ServiceAutoscale,
  'service:update': ServiceUpdate,
  'stack:deploy': StackDeploy,
  'stack:ls': StackLs,
  'stack:ps': StackPs,
  'stack:rm': StackRm,
  'stack:services': StackServices,
  'swarm:backup': SwarmBackup,
  'swarm:ca': SwarmCa,
  'swarm:init': SwarmInit,
  'swarm:inspect': SwarmInspect,
  'swarm:join': SwarmJoin,
  'swarm:join-token': SwarmJoinToken,
  'swarm:leave': SwarmLeave,
  'swarm:restore': SwarmRestore,
  'swarm:unlock': SwarmUnlock,
  'swarm:unlock-key': SwarmUnlockKey,
  'swarm:update': SwarmUpdate,
};
