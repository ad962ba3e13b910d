/** Secrets and configs (`/secrets`, `/configs`), in Docker's shape. Data is base64 in the API. */
import type { Driver, Meta } from './common.ts';

export interface SecretSpec {
  Name: string;
  Labels: Record<string, string>;
  /** Base64; never returned by the API. */
  Data?: string;
  Driver?: Driver;
  Templating?: Driver;
}

export interface Secret extends Meta {
  Spec: SecretSpec;
}

export interface ConfigSpec {
  Name: string;
  Labels: Record<string, string>;
  /** Base64; returned by inspect (configs are not secret). */
  Data: string;
  Templating?: Driver;
}

export interface Config extends Meta {
  Spec: ConfigSpec;
}

/** Docker's size limits (SwarmKit): secrets 1 B to < 500 KiB, configs < 1000 KiB. */
export const MAX_SECRET_BYTES = 500 * 1024;
export const MAX_CONFIG_BYTES = 1000 * 1024;
