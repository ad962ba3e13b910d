/**
 * Output helpers shared by the commands: aligned tables as docker prints them, JSON,
 * and a small `{{.Field}}` template language for `--format`.
 */

/** Renders rows under headers, columns padded to their widest cell plus three spaces (docker's layout). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : (c ?? '').padEnd(widths[i] + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Applies a template such as `{{.ID}}: {{.Spec.Name}}` or `{{json .}}` to a value. */
export function applyTemplate(template: string, value: unknown): string {
  return template.replace(/\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g, (_m, json: string | undefined, path: string) => {
    let v: unknown = value;
    for (const key of path.split('.').filter(Boolean)) v = v == null ? undefined : (v as Record<string, unknown>)[key];
    if (json) return JSON.stringify(v);
    if (v === undefined || v === null) return '<no value>';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/** Prints a value per `--format`: json, a template per item, or the table renderer given. */
export function render<T>(format: string, items: T[], asTable: (items: T[]) => string): string {
  if (format === 'json') return JSON.stringify(items, null, 2) + '\n';
  if (format === 'table') return asTable(items);
  return items.map((i) => applyTemplate(format, i)).join('\n') + (items.length ? '\n' : '');
}

/** "3 minutes ago" style durations, as docker prints them. */
export function timeAgo(iso: string, now = Date.now()): string {
  const secs = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (secs < 1) return 'Less than a second ago';
  if (secs < 60) return `${secs} seconds ago`;
  const mins = Math.round(secs / 60);
  if (mins < 60) return mins === 1 ? 'About a minute ago' : `${mins} minutes ago`;
  const hours = Math.round(mins / 60);
  if (hours < 48) return hours === 1 ? 'About an hour ago' : `${hours} hours ago`;
  return `${Math.round(hours / 24)} days ago`;
}
