/**
 * What this build of Shoal is, as it tells the managers: its version and the newest store
 * schema it can run (see `manager/schema/migrations.ts`).
 *
 * `SHOAL_TEST_UPGRADE=1` makes a build pose as the next release: the version gains a
 * `-next` suffix and it runs store schema 2, whose migration only marks the cluster. The
 * rolling-upgrade lab test restarts nodes with it to play version N+1 against N.
 */

/** The newest store schema this release runs. Bump it with a migration in `manager/schema/migrations.ts`. */
export const STORE_SCHEMA = 1;

export interface Release {
  version: string;
  storeSchema: number;
}

/** This build's release, from its package version and the environment (the test switch above). */
export function currentRelease(packageVersion: string, env: Readonly<Record<string, string | undefined>> = process.env): Release {
  if (env.SHOAL_TEST_UPGRADE === '1') return { version: `${packageVersion}-next`, storeSchema: STORE_SCHEMA + 1 };
  return { version: packageVersion, storeSchema: STORE_SCHEMA };
}
