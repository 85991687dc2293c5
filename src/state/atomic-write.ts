import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes a file so that readers see the old content or the new, never a part, and a crash or power
 * cut right after leaves one of the two: a temp file beside it, written, fsynced, then renamed over it.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const tmp = tempPath(path);
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The same, blocking: for files read or created while the process starts. */
export function writeFileAtomicSync(path: string, data: string, mode = 0o644): void {
  const tmp = tempPath(path);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function tempPath(path: string): string {
  return `${path}.${randomBytes(4).toString('hex')}.tmp`;
}
