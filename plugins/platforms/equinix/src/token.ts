/**
 * The API token: read from the environment variable the platform file names (`tokenEnv`), only
 * when a request is about to be made, and handed to the API client alone. It is never logged,
 * never written to a file, never part of an error message; it is registered with core's secret
 * registry, so nothing the process prints shows it either.
 */
import { addSecret } from '@labrig/core';
import { MetalTokenMissing } from './errors.js';

/** The token in `$variable`, or MetalTokenMissing naming the variable. */
export function readToken(variable: string, env: NodeJS.ProcessEnv = process.env, configFile?: string): string {
  const token = env[variable]?.trim();
  if (!token) throw new MetalTokenMissing(variable, configFile);
  addSecret(token); // nothing the process prints shows it
  addSecret(env[variable]);
  return token;
}
