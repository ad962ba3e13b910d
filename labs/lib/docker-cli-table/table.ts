/**
 * The docker CLI table: every row, in the order they run (each part leaves the swarm in the
 * state the next one starts from). Rows are data: a command line, the exit code, and a
 * check of the output; see runner.ts.
 */
import type { Row } from './runner.ts';
import { OBJECT_ROWS } from './rows-objects.ts';
import { SERVICE_ROWS } from './rows-services.ts';
import { STACK_ROWS } from './rows-stack.ts';
import { SWARM_ROWS } from './rows-swarm.ts';

export const TABLE: Row[] = [...SWARM_ROWS, ...OBJECT_ROWS, ...SERVICE_ROWS, ...STACK_ROWS];
