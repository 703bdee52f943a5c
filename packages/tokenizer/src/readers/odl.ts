// The ODL (Object Description Language) subset USGS writes Landsat MTL
// metadata in (`*_MTL.txt`): `KEY = value` lines nested in
// `GROUP = NAME ... END_GROUP = NAME`, closed by `END`. Values stay text
// (quotes removed): the MTL reader converts the keys it uses and names the
// key when one is not a number. Why not @cumulus/pvl (NASA's PVL parser):
// it reads `2.0000E-05` as a string and `025` as text anyway, pulls in
// lodash, ships no types, and its errors do not name the line; this subset
// is 60 lines with errors naming file and line.

/** A group: its keys in file order, each a value (text) or a nested group. */
export interface OdlGroup {
  [key: string]: string | OdlGroup;
}

const LINE = /^([A-Za-z_][A-Za-z0-9_:]*)\s*=\s*(.*)$/;

/** Parse ODL text; `path` names the file in errors (one line: file, line number, what was expected). */
export function parseOdl(text: string, path: string): OdlGroup {
  const root: OdlGroup = {};
  const stack: Array<{ name: string; group: OdlGroup }> = [{ name: '', group: root }];
  let ended = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    const where = `${path}: line ${i + 1}`;
    if (line === '' || line.startsWith('/*')) continue;
    if (ended) throw new Error(`${where}: '${line}' after END; expected nothing more`);
    if (line === 'END') {
      ended = true;
      continue;
    }
    const m = LINE.exec(line);
    if (m === null) throw new Error(`${where}: '${line}' is not KEY = value, GROUP = NAME, END_GROUP = NAME nor END`);
    const key = m[1] as string;
    const value = unquote(m[2] as string, where);
    const top = stack[stack.length - 1] as { name: string; group: OdlGroup };
    if (key === 'GROUP' || key === 'OBJECT') {
      if (value === '') throw new Error(`${where}: ${key} without a name`);
      const group: OdlGroup = {};
      if (value in top.group) throw new Error(`${where}: group ${value} appears twice${top.name !== '' ? ` in ${top.name}` : ''}`);
      top.group[value] = group;
      stack.push({ name: value, group });
    } else if (key === 'END_GROUP' || key === 'END_OBJECT') {
      if (stack.length === 1) throw new Error(`${where}: ${key} = ${value} closes no open group`);
      if (value !== '' && value !== top.name) throw new Error(`${where}: ${key} = ${value} closes group ${top.name}; expected ${top.name}`);
      stack.pop();
    } else {
      if (value === '') throw new Error(`${where}: ${key} has no value`);
      if (key in top.group) throw new Error(`${where}: ${key} appears twice${top.name !== '' ? ` in group ${top.name}` : ''}`);
      top.group[key] = value;
    }
  }
  if (stack.length > 1)
    throw new Error(`${path}: group ${stack[stack.length - 1]?.name} is never closed (END_GROUP missing); the file is cut short?`);
  if (!ended) throw new Error(`${path}: no END line; the file is cut short?`);
  return root;
}

function unquote(raw: string, where: string): string {
  const v = raw.trim();
  if (!v.startsWith('"')) return v;
  if (v.length < 2 || !v.endsWith('"')) throw new Error(`${where}: unterminated quoted value ${v}`);
  return v.slice(1, -1);
}
