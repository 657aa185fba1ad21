/**
 * Writes worker/config/schema.json, the JSON Schema of the worker's config, from the option specs lint uses:
 * `node worker/dist/schema/update-config-schema.js` after `npx tsc -b`. The unit tests fail while the file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configSchema } from './config-schema.js';

/** worker/config/schema.json, from worker/src/schema/ and from worker/dist/schema/ alike. */
export const CONFIG_SCHEMA_FILE = fileURLToPath(new URL('../../config/schema.json', import.meta.url));

/** The file's text as the generator writes it. */
export function configSchemaText(): string {
  return `${JSON.stringify(configSchema(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = configSchemaText();
  let before: string | undefined;
  try {
    before = readFileSync(CONFIG_SCHEMA_FILE, 'utf8');
  } catch {
    before = undefined;
  }
  if (text === before) {
    process.stdout.write(`${CONFIG_SCHEMA_FILE}: up to date\n`);
  } else {
    writeFileSync(CONFIG_SCHEMA_FILE, text);
    process.stdout.write(`${CONFIG_SCHEMA_FILE}: regenerated\n`);
  }
}
