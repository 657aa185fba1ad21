import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';

/**
 * A config file parsed for its positions: what the route compiler and lint read, so that every problem can say
 * `file:line:column`. Parsed as config.ts parses it (duplicate keys are errors); syntax errors are its problems.
 */
export interface ConfigFile {
  file: string;
  text: string;
  doc: Document;
  lines: LineCounter;
  /** Problems that stop anything else being checked: an unreadable file, YAML syntax errors. */
  problems: string[];
}

export function parseConfigFile(text: string, file: string): ConfigFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems = doc.errors.map((error) => {
    const { line, col } = lines.linePos(error.pos[0]);
    return `${file}:${line}:${col}: ${error.message.split('\n')[0]}`;
  });
  return { file, text, doc, lines, problems };
}

export function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { ...parseConfigFile('', file), problems: [`${file}: cannot read: ${(error as Error).message}`] };
  }
  return parseConfigFile(text, file);
}
