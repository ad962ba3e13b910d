/**
 * Loading one compose file: YAML (anchors and `<<` merge keys allowed) → variable
 * interpolation → the compose schema. Every error names the file, the line and the key.
 * The text and the environment are passed in (no I/O here); `readComposeFile` in
 * `files.ts` does the reading.
 */
import { LineCounter, isMap, isSeq, parseDocument, visit, type Node, type Document } from 'yaml';
import { ComposeError, ComposePathError, formatPath, type ComposePath } from './errors.ts';
import { interpolate, type Lookup } from './interpolate.ts';
import { validateCompose } from './schema.ts';

/** A parsed, interpolated and validated compose file. */
export interface ComposeFile {
  /** The file name as given (used in messages). */
  file: string;
  /** The document, as plain data. */
  data: ComposeData;
  /** `FILE:LINE` of a path in this file, or undefined when the path is not in it. */
  locate(path: ComposePath): string | undefined;
}

/** A compose document (validated against the schema; sections optional). */
export interface ComposeData {
  version?: string;
  services?: Record<string, Record<string, unknown>>;
  networks?: Record<string, Record<string, unknown> | null>;
  volumes?: Record<string, Record<string, unknown> | null>;
  secrets?: Record<string, Record<string, unknown>>;
  configs?: Record<string, Record<string, unknown>>;
  [extension: string]: unknown;
}

/** Parses `text` (the content of `file`); throws ComposeError naming file, line and key. */
export function loadCompose(file: string, text: string, env: Lookup): ComposeFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const at = lines.linePos(e.pos[0]);
    throw new ComposeError(`${file}:${at.line}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const locate = (path: ComposePath) => {
    const offset = offsetOf(doc, path);
    return offset === undefined ? undefined : `${file}:${lines.linePos(offset).line}`;
  };
  // Compose files are read as YAML 1.1 does for integers: `mode: 0440` is octal (288), as in Docker.
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.range && /^0[0-7]+$/.test(text.slice(node.range[0], node.range[1]))) {
        node.value = parseInt(text.slice(node.range[0], node.range[1]), 8);
      }
    },
  });
  const raw = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  if (raw === null || raw === undefined) throw new ComposeError(`${file}: empty compose file`);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ComposeError(`${file}:1: top-level object must be a mapping`);
  // As docker stack deploy: version 3.x, or none (the compose specification); 1 and 2 are for docker-compose.
  const version = (raw as Record<string, unknown>).version;
  if (version !== undefined && !/^3(\.\d+)?$/.test(String(version))) {
    throw new ComposeError(`${locate(['version']) ?? file}: unsupported Compose file version: ${String(version)} (docker stack deploy takes 3.x or no version)`);
  }
  let data: unknown;
  try {
    data = interpolate(raw, env);
  } catch (err) {
    if (err instanceof ComposePathError) throw new ComposeError(`${locate(err.path) ?? file}: ${err.message.replace(/^compose: /, '')}`, { cause: err });
    throw err;
  }
  const problems = validateCompose(data);
  if (problems.length) {
    const lines2 = problems.slice(0, 5).map((p) => {
      const at = locate(p.key !== undefined ? [...p.path, p.key] : p.path) ?? file;
      return `${at}: ${formatPath(p.key !== undefined ? [...p.path, p.key] : p.path)}: ${p.message}`;
    });
    throw new ComposeError(`invalid compose file:\n  ${lines2.join('\n  ')}`);
  }
  return { file, data: data as ComposeData, locate };
}

/** The source offset of the node at `path` (a key's position for the last step of a map). */
function offsetOf(doc: Document, path: ComposePath): number | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  let keyOffset: number | undefined;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === step || String((p.key as { value?: unknown } | null)?.value) === String(step));
      if (!pair) return undefined;
      keyOffset = (pair.key as Node | null)?.range?.[0];
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof step === 'number') {
      node = node.items[step] as Node | null;
      keyOffset = undefined;
      if (!node) return undefined;
    } else {
      return undefined;
    }
  }
  return keyOffset ?? node?.range?.[0] ?? 0;
}
