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

/** One version of a rotated secret or config (Shoal: rotation without renaming). */
export interface PayloadVersion {
  /** 1 for the data it was created with, +1 per `rotate`. */
  Version: number;
  /** The object holding that version's data (tasks reference it by this ID). */
  ID: string;
  CreatedAt: string;
}

/** Fields Shoal adds to secrets and configs for `secret rotate` / `config rotate`. */
export interface PayloadRotation {
  /** On the current object of a rotated name: every version, oldest first, this one last. */
  Versions?: PayloadVersion[];
  /**
   * On a replaced version kept while tasks still use it: the name it was rotated from.
   * Its own Spec.Name is then `NAME@vN` (a name no user can give), it is left out of
   * lists, and it is deleted once no service or running task refers to it.
   */
  RetiredFrom?: string;
}

export interface Secret extends Meta, PayloadRotation {
  Spec: SecretSpec;
}

export interface ConfigSpec {
  Name: string;
  Labels: Record<string, string>;
  /** Base64; returned by inspect (configs are not secret). */
  Data: string;
  Templating?: Driver;
}

export interface Config extends Meta, PayloadRotation {
  Spec: ConfigSpec;
}

/** Docker's size limits (SwarmKit): secrets 1 B to < 500 KiB, configs < 1000 KiB. */
export const MAX_SECRET_BYTES = 500 * 1024;
export const MAX_CONFIG_BYTES = 1000 * 1024;
