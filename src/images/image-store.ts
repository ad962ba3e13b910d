/**
 * Image records (`<root>/images.json`): one per image ID (the config digest), with
 * its tags, repo digests and layers. Tags are unique: tagging an image takes the
 * tag from any other. Pure bookkeeping plus an atomic save; blobs and layer
 * directories live in the ContentStore and `layers/`.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDigest } from './digest.ts';
import { looksLikeId, parseReference, familiarString, familiarName } from './reference.ts';

/** A layer of an image. */
export interface LayerRecord { digest: string; mediaType: string; size: number; diffId: string }

/** One image. */
export interface ImageRecord {
  /** Config digest (`sha256:…`): the image ID. */
  id: string;
  /** `name:tag` in familiar form. */
  repoTags: string[];
  /** `name@sha256:…` of the manifest (or index) it was pulled by. */
  repoDigests: string[];
  manifestDigest: string;
  layers: LayerRecord[];
  /** From the image config. */
  created: string;
  /** Sum of the layer blob sizes, bytes. */
  size: number;
  os: string;
  architecture: string;
}

/** The set of image records of one data root. */
export class ImageStore {
  private readonly records = new Map<string, ImageRecord>();
  private readonly file: string;

  constructor(root: string) {
    this.file = join(root, 'images.json');
    let saved: unknown = [];
    try { saved = JSON.parse(readFileSync(this.file, 'utf8')); } catch { /* first start */ }
    // A record on disk is trusted only once its digests pass the check: one edited to
    // say `sha256:../../swarm` must never turn a host folder into a layer.
    for (const r of Array.isArray(saved) ? saved : []) if (validRecord(r)) this.records.set(r.id, r);
  }

  save(): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify([...this.records.values()], null, 1));
    renameSync(`${this.file}.tmp`, this.file);
  }

  list(): ImageRecord[] { return [...this.records.values()]; }

  /**
   * Finds an image by `name[:tag]`, `name@digest`, full or short ID (≥ 12 hex).
   * Returns undefined when nothing matches.
   */
  find(ref: string): ImageRecord | undefined {
    if (looksLikeId(ref)) {
      const hex = ref.replace(/^sha256:/, '');
      const hits = this.list().filter((r) => r.id.slice(7).startsWith(hex));
      if (hits.length === 1) return hits[0];
    }
    let norm: string;
    try { norm = familiarString(parseReference(ref)); } catch { return undefined; }
    const p = parseReference(ref);
    if (p.digest) {
      const byDigest = `${familiarName(p)}@${p.digest}`;
      return this.list().find((r) => r.repoDigests.includes(byDigest) || r.manifestDigest === p.digest);
    }
    return this.list().find((r) => r.repoTags.includes(norm));
  }

  get(id: string): ImageRecord | undefined { return this.records.get(id); }

  /** Adds or merges `rec`, then moves its tags away from other images. */
  put(rec: ImageRecord): ImageRecord {
    checkRecord(rec);
    const old = this.records.get(rec.id);
    const merged: ImageRecord = old
      ? { ...old, repoTags: [...new Set([...old.repoTags, ...rec.repoTags])], repoDigests: [...new Set([...old.repoDigests, ...rec.repoDigests])] }
      : rec;
    for (const other of this.records.values()) {
      if (other.id === rec.id) continue;
      other.repoTags = other.repoTags.filter((t) => !rec.repoTags.includes(t));
    }
    this.records.set(rec.id, merged);
    this.save();
    return merged;
  }

  /** Removes a tag from its image; returns the image. */
  untag(tag: string): ImageRecord | undefined {
    const r = this.list().find((x) => x.repoTags.includes(tag));
    if (r) { r.repoTags = r.repoTags.filter((t) => t !== tag); this.save(); }
    return r;
  }

  delete(id: string): void {
    this.records.delete(id);
    this.save();
  }

  /** Digests every record references (manifests, configs, layer blobs) and their diffIDs. */
  referenced(): { blobs: Set<string>; diffIds: Set<string> } {
    const blobs = new Set<string>();
    const diffIds = new Set<string>();
    for (const r of this.records.values()) {
      blobs.add(r.id).add(r.manifestDigest);
      for (const l of r.layers) { blobs.add(l.digest); diffIds.add(l.diffId); }
    }
    return { blobs, diffIds };
  }
}

/** Throws InvalidDigestError unless every digest of `r` is well formed. */
export function checkRecord(r: ImageRecord): void {
  checkDigest(r.id, 'image ID');
  checkDigest(r.manifestDigest, `manifest of image ${r.id}`);
  if (!Array.isArray(r.layers)) throw new TypeError('images: assertion: image record without layers');
  r.layers.forEach((l, i) => { checkDigest(l.digest, `layer ${i} of image ${r.id}`); checkDigest(l.diffId, `diffID ${i} of image ${r.id}`); });
}

function validRecord(r: unknown): r is ImageRecord {
  try {
    const x = r as ImageRecord;
    checkRecord(x);
    return Array.isArray(x.repoTags) && Array.isArray(x.repoDigests);
  } catch { return false; }
}
