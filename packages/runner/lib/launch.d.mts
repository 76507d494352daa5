/** Types of ./launch.mjs (running an executor from its cached bundle: see there). */
export declare class UsageError extends Error {
  hint: string | undefined;
  constructor(message: string, hint?: string);
}
export declare function findRoot(from: string): string;
export declare function platformOf(projectRoot: string, argv: readonly string[]): string | undefined;
export declare function resolveExecutor(root: string, ref: string): { impl: string; schema: string };
export declare function bundleExecutor(root: string, ref: string, impl: string, schema: string, platform: string | undefined): Promise<string>;
export interface LaunchArgs {
  root: string;
  ref: string;
  project: string;
  projectRoot: string;
  argv: readonly string[];
}
export declare function launch(a: LaunchArgs): Promise<number>;
export declare function executorAllowsAgent(root: string, ref: string): boolean | undefined;
export declare function runFromBundle(a: LaunchArgs, around?: <T>(build: () => Promise<T>) => Promise<T>): Promise<number>;
