export { runAgent, type AgentOptions } from './agent/agent.js';
export { installCommandHost } from './agent/host.js';
export { serveLink, ensurePrivateDir, writeToken, type LinkRequest, type LinkServerOptions, type Frame } from './link-server.js';
export { bridgeLink } from './link-bridge.js';
