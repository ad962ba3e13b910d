/**
 * Every `shoal` command, by id (topic and command separated by `:`; typed with spaces).
 * oclif loads this list instead of scanning folders (explicit strategy), which keeps
 * start-up fast and works from TypeScript sources.
 */
import Daemon from './daemon.ts';
import Info from './info.ts';
import Version from './version.ts';

export const COMMANDS = {
  daemon: Daemon,
  info: Info,
  version: Version,
};
