/**
 * Regenerates the reference tables of docs/routes.md from the registries: `node worker/dist/dsl/docs/update-routes-doc.js`
 * after `npx tsc -b`. The unit tests fail while the tables and the registries disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultComponents } from '../../components/index.js';
import { defaultFunctions } from '../expressions.js';
import { renderTable, replaceGeneratedSection } from './markdown.js';
import { componentsTable, expressionsTable, optionsTable } from './tables.js';

/** docs/routes.md, from worker/src/dsl/docs/ and from worker/dist/dsl/docs/ alike. */
export const ROUTES_DOC = fileURLToPath(new URL('../../../../docs/routes.md', import.meta.url));

/** The document with every generated section brought up to date. */
export function updatedRoutesDoc(markdown: string): string {
  const components = defaultComponents().list();
  const sections = { components: componentsTable(components), options: optionsTable(components), expressions: expressionsTable(defaultFunctions()) };
  return Object.entries(sections).reduce((text, [name, table]) => replaceGeneratedSection(text, name, renderTable(table)), markdown);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const before = readFileSync(ROUTES_DOC, 'utf8');
  const after = updatedRoutesDoc(before);
  if (after === before) {
    process.stdout.write(`${ROUTES_DOC}: up to date\n`);
  } else {
    writeFileSync(ROUTES_DOC, after);
    process.stdout.write(`${ROUTES_DOC}: tables regenerated\n`);
  }
}
