import { generateKeyPairSync } from 'node:crypto';

/**
 * generateKeyPairSync, then a full GC before the keys are used. Node 20 can deadlock when a GC
 * finalises the key-generation job while its key is being exported (ExportJWK holds the key's
 * mutex, the job's destructor takes it again): collecting the job first removes the window.
 */
export const keyPair: typeof generateKeyPairSync = ((
  ...args: Parameters<typeof generateKeyPairSync>
) => {
  const pair = (generateKeyPairSync as (...a: unknown[]) => unknown)(...args);
  (globalThis as { gc?: () => void }).gc?.();
  return pair;
}) as typeof generateKeyPairSync;
