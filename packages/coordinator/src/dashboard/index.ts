// The dashboard (training page, bull-board, Prometheus), for `atomizer dashboard`,
// `atomizer demo` and `atomizer train --dashboard`.
export { startDashboard } from './server.js';
export type { Dashboard, DashboardOptions } from './server.js';
export { TOKEN_ENV as DASHBOARD_TOKEN_ENV, checkBinding } from './auth.js';
