import fs from 'node:fs';

/** The app's name and version from package.json, for exported bundles. */
export function appVersion(): { name: string; version: string } {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
}
