/** Types of ./link.mjs (the link protocol: see there). */
export declare const LINK_PROTOCOL: number;
export declare function frameWriter(stream: { write(s: string): unknown }): (frame: Record<string, unknown>) => void;
export declare function readFrames(stream: NodeJS.ReadableStream, onFrame: (frame: Record<string, any> & { t: string }) => void, onBad?: (line: string) => void): void;
export interface AgentPaths {
  dir: string;
  socket: string;
  token: string;
  pid: string;
  journal: string;
  log: string;
}
export declare function agentPaths(root: string): AgentPaths;
export declare function agentMode(env: Record<string, string | undefined>): 'on' | 'off';
export declare function agentIdleMs(env: Record<string, string | undefined>): number;
