/** Types of ./program.mjs (the engine program bundle: see there). */
export declare const PROGRAM_PREFIX: string;
export interface ProgramBundle {
  file: string;
  name: string;
  sha256: string;
  bytes: number;
}
export declare function cachedProgram(root: string): ProgramBundle | undefined;
export declare function buildProgram(root: string): Promise<ProgramBundle>;
export declare function fresh(inputs: Record<string, [number, number]>): boolean;
