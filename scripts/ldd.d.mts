// Types of scripts/ldd.mjs for the TypeScript that imports it (the Docker tests).
export interface LddLib {
  /** The name the loader looks for (the soname), e.g. libc.so.6. */
  name: string;
  /** Where ldd found it (the loader's own path is the one compiled into the file). */
  path: string;
  /** That path with symlinks resolved: the file to copy. */
  real: string;
}
export function parseLdd(text: string): { libs: Array<{ name: string; path: string }>; loader: string | null; missing: string[] };
export function isElf(path: string): boolean;
export function dynamicDeps(file: string): { static: boolean; libs: LddLib[]; loader: LddLib | null };
