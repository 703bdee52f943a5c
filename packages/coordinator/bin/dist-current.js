// Whether the built dist/ of the CLI can run in place of the TypeScript sources: every
// workspace package the coordinator runs (itself and its @atomizer/ dependencies, followed
// through their package.json) has, for each source file, its built file, no older than the
// source. Plain JavaScript (it runs before tsx is loaded); a few hundred stat calls, a few ms.
// A package without src/ (installed from a registry) is its dist.
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** The folder of package `name` as Node resolves it from `fromDir` (node_modules of it or an ancestor). */
function packageDir(name, fromDir) {
  for (let d = fromDir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(d) === d) return undefined;
  }
}

/** The coordinator's folder and those of the workspace packages it depends on, transitively. */
export function workspacePackages(coordinatorDir) {
  const found = new Map();
  const visit = (dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (found.has(pkg.name)) return;
    found.set(pkg.name, dir);
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (!dep.startsWith('@atomizer/')) continue;
      const depDir = packageDir(dep, dir);
      if (depDir !== undefined) visit(depDir);
    }
  };
  visit(coordinatorDir);
  return [...found.values()];
}

/** The built file of a source file: src/a/b.ts -> dist/a/b.js; other files (html, css) are copied as they are. */
function builtPath(pkgDir, srcFile) {
  const rel = relative(join(pkgDir, 'src'), srcFile);
  return join(pkgDir, 'dist', rel.endsWith('.ts') ? `${rel.slice(0, -3)}.js` : rel);
}

/** Source files that the build turns into dist files (tests and test helpers are not built). */
function sourceFiles(pkgDir) {
  const src = join(pkgDir, 'src');
  return readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((f) => !relative(src, f).split(/[\\/]/).includes('testing'));
}

/**
 * Why dist/ cannot be run (the first stale or missing file), or undefined when it can.
 * @param {string} coordinatorDir the @atomizer/coordinator package folder
 * @returns {string | undefined}
 */
export function distStaleReason(coordinatorDir) {
  for (const pkgDir of workspacePackages(coordinatorDir)) {
    if (!existsSync(join(pkgDir, 'src'))) {
      if (!existsSync(join(pkgDir, 'dist'))) return `${pkgDir} has neither src/ nor dist/`;
      continue;
    }
    for (const file of sourceFiles(pkgDir)) {
      const built = builtPath(pkgDir, file);
      let builtMtime;
      try {
        builtMtime = statSync(built).mtimeMs;
      } catch {
        return `${relative(pkgDir, built)} of ${pkgDir} is missing`;
      }
      if (builtMtime < statSync(file).mtimeMs) return `${relative(pkgDir, file)} of ${pkgDir} is newer than its build`;
    }
  }
  return undefined;
}
