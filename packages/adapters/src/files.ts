/** File helpers shared by the adapters: reading with clear errors, and all-or-nothing folder output. */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { invalidInput } from '@strata/core';

export async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw invalidInput(`cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      where: path,
      hint: 'check the path',
      cause: e,
    });
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export interface WriteFolderOptions {
  force?: boolean;
  dryRun?: boolean;
}

/**
 * Writes `files` (relative path -> content) as the folder `outDir`, all or nothing: everything goes to a sibling
 * temporary folder first, which is renamed into place at the end. An existing outDir is an error unless force, in
 * which case it is replaced only after the new content is complete. Returns the relative paths written.
 */
export async function writeFolder(
  outDir: string,
  files: Record<string, string | Uint8Array>,
  opts: WriteFolderOptions = {},
): Promise<string[]> {
  const target = resolve(outDir);
  const names = Object.keys(files).sort();
  if ((await exists(target)) && !opts.force) {
    throw invalidInput(`output folder '${outDir}' already exists`, {
      where: outDir,
      hint: 'choose a new folder or pass --force to replace it',
    });
  }
  if (opts.dryRun) return names;
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    for (const name of names) {
      const path = join(tmp, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, files[name] as string | Uint8Array);
    }
    if (await exists(target)) {
      const old = `${tmp}.old`;
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return names;
}
