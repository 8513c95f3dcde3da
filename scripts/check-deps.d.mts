export declare function parseVersion(text: string): [number, number, number, string | null];
export declare function compareVersions(a: string, b: string): number;
export declare function satisfies(version: string, range: string): boolean;
/** One line per locked package in a known-bad range or resolved from outside the npm registry. */
export declare function checkDeps(
  lock: { lockfileVersion?: number; packages?: Record<string, Record<string, unknown>> },
  knownBad: { advisories: { package: string; range: string; id: string; cve?: string; summary?: string }[] },
): { problems: string[]; packages: number; advisories: number };
