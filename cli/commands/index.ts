/**
 * Every `shoal` command, by id (topic and command separated by `:`; typed with spaces).
 * oclif loads this list instead of scanning folders (explicit strategy), which keeps
 * start-up fast and works from TypeScript sources.
 */
import Daemon from './daemon.ts';
import Info from './info.ts';
import Version from './version.ts';
import ImageLoad from './image/load.ts';
import ImageLs from './image/ls.ts';
import ImagePrune from './image/prune.ts';
import ImagePull from './image/pull.ts';
import ImageRm from './image/rm.ts';

export const COMMANDS = {
  daemon: Daemon,
  info: Info,
  version: Version,
  'image:load': ImageLoad,
  'image:ls': ImageLs,
  'image:prune': ImagePrune,
  'image:pull': ImagePull,
  'image:rm': ImageRm,
};
