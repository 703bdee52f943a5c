import { z } from 'zod';
import { nearestName } from './edit-distance.js';

// Zod issues as one line each, naming the field by its full dotted path. An unknown key of
// a strict object is a line of its own with the nearest valid key of that level
// ("train.rouds: unknown key; did you mean train.rounds?"): zod reports them per object,
// without the keys it expected, so those are read from the schema the input was parsed with.

/** The schema inside defaults, prefaults, optionals, nullables and pipes (a pipe's input side). */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (let i = 0; i < 16; i++) {
    const def = (s as unknown as { def: { innerType?: z.ZodType; in?: z.ZodType; type: string } }).def;
    if (def.innerType !== undefined) s = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) s = def.in;
    else break;
  }
  return s;
}

/** The keys the object schema at `path` under `root` accepts, or undefined when there is no object there. */
export function objectKeysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: z.ZodType | undefined = unwrapSchema(root);
  for (const seg of path) {
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodType>)[String(seg)];
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else if (s instanceof z.ZodRecord) s = s.valueType as z.ZodType;
    else return undefined;
    if (s === undefined) return undefined;
    s = unwrapSchema(s);
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

const dotted = (path: readonly PropertyKey[]): string => path.map(String).join('.');

/**
 * One line per problem, `<path>: <what>`: `root` is the schema the input was parsed with
 * (for the valid keys next to an unknown one). Issues parsed with `reportInput` end with
 * the value given (`, got "async"`).
 */
export function issueLines(root: z.ZodType, issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const valid = objectKeysAt(root, issue.path) ?? [];
      for (const key of issue.keys) {
        const near = nearestName(key, valid);
        const at = dotted([...issue.path, key]);
        if (near !== undefined) lines.push(`${at}: unknown key; did you mean ${dotted([...issue.path, near])}?`);
        else lines.push(`${at}: unknown key; expected one of ${valid.join(', ')}`);
      }
      continue;
    }
    const input = (issue as { input?: unknown }).input;
    const got = input === undefined || typeof input === 'object' ? '' : `, got ${JSON.stringify(input)}`;
    lines.push(`${dotted(issue.path) || '(root)'}: ${issue.message}${got}`);
  }
  return lines;
}
