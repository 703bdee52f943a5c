/** The coordinator's folder and those of the workspace packages it depends on, transitively. */
export function workspacePackages(coordinatorDir: string): string[];
/** Why dist/ cannot be run (the first stale or missing file), or undefined when it can. */
export function distStaleReason(coordinatorDir: string): string | undefined;
