import { packageProject } from '../../vitest.project.js';

export default packageProject('coordinator', { globalSetup: ['./vitest.setup.ts'] });
