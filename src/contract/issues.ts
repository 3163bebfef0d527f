import type { StandardSchemaV1 } from '@standard-schema/spec';

/**
 * Standard Schema issues as one line a person reads in a MicroError's detail:
 * `name: expected string, received number; tags[1]: too long`. Each issue says where (its path,
 * dotted, with indices in brackets) and why (the schema library's own message).
 */
export function formatIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  return issues
    .map((issue) => {
      const where = formatPath(issue.path);
      return where === '' ? issue.message : `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** `['user', 'tags', 0]` → `user.tags[0]`. */
export function formatPath(
  path: readonly (PropertyKey | StandardSchemaV1.PathSegment)[] | undefined,
): string {
  let out = '';
  for (const segment of path ?? []) {
    const key = typeof segment === 'object' ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const name = typeof key === 'symbol' ? key.toString() : key;
      out += out === '' ? name : `.${name}`;
    }
  }
  return out;
}
