import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultComponents } from '../../components/index.js';
import { defaultFunctions } from '../expressions.js';
import { generatedSection, parseTable, renderTable, replaceGeneratedSection } from './markdown.js';
import { componentsTable, expressionsTable, optionsTable } from './tables.js';
import { ROUTES_DOC, updatedRoutesDoc } from './update-routes-doc.js';

const doc = readFileSync(ROUTES_DOC, 'utf8');
const REGENERATE = 'regenerate with: npx tsc -b && node worker/dist/dsl/docs/update-routes-doc.js';

function tableIn(section: string) {
  const text = generatedSection(doc, section);
  expect(text, `docs/routes.md has a generated:${section} section`).toBeDefined();
  return parseTable(text ?? '');
}

describe('docs/routes.md says what the registries say', () => {
  it('lists every component, with the roles it can play and its path', () => {
    const components = defaultComponents().list();
    expect(tableIn('components'), REGENERATE).toEqual(componentsTable(components));
    expect(tableIn('components').rows.map((row) => row[0])).toEqual(components.map((component) => `\`${component.scheme}:\``));
  });

  it('lists every option of every component, with its type, default and doc', () => {
    const components = defaultComponents().list();
    expect(tableIn('options'), REGENERATE).toEqual(optionsTable(components));
    expect(tableIn('options').rows).toHaveLength(components.reduce((count, component) => count + Object.keys(component.options).length, 0));
  });

  it('lists every named expression with its kind', () => {
    expect(tableIn('expressions'), REGENERATE).toEqual(expressionsTable(defaultFunctions()));
  });

  it('is exactly what the generator writes', () => {
    expect(updatedRoutesDoc(doc) === doc, REGENERATE).toBe(true);
  });
});

describe('markdown tables', () => {
  it('read back what they write, pipes in cells included', () => {
    const table = { header: ['a', 'b'], rows: [['x | y', '`z`'], ['', 'w']] };
    expect(parseTable(renderTable(table))).toEqual(table);
  });

  it('regenerate a section between its markers and nothing else', () => {
    const text = 'before\n<!-- generated:t -->\nold\n<!-- /generated:t -->\nafter\n';
    expect(replaceGeneratedSection(text, 't', 'new')).toBe('before\n<!-- generated:t -->\nnew\n<!-- /generated:t -->\nafter\n');
    expect(() => replaceGeneratedSection(text, 'u', 'new')).toThrow('no section <!-- generated:u -->');
  });
});
