export { createDependencies, createNodesV2, peekSystemFile, readSystemMeta, systemTargets, SYSTEM_FILES, type DeclaredSystemTarget, type SystemMeta } from './nodes.js';
