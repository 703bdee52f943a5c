// Module customization hooks (node:module register) that append every URL the ES module
// loader resolves, one a line, to the file given at registration. light-imports.test.ts
// registers them in a child process to see which packages an import pulls in.
import { appendFileSync } from 'node:fs';

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(file, `${result.url}\n`);
  return result;
}
