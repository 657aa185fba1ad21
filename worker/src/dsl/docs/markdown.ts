/**
 * Just enough Markdown for docs that code keeps honest: tables (written and read back), sections a script
 * regenerates between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`, and fenced code blocks.
 */

export interface Table {
  header: string[];
  rows: string[][];
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderTable(table: Table): string {
  const line = (cells: string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  return [line(table.header), line(table.header.map(() => '---')), ...table.rows.map(line)].join('\n');
}

/** The first table in `markdown`, its cells unescaped. */
export function parseTable(markdown: string): Table {
  const lines = markdown.split('\n').filter((line) => line.trim().startsWith('|'));
  const cells = (line: string): string[] =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/)
      .map((text) => text.trim().replace(/\\\|/g, '|'));
  const [header, separator, ...rows] = lines;
  if (header === undefined || separator === undefined || !/^[\s|:-]+$/.test(separator)) return { header: [], rows: [] };
  return { header: cells(header), rows: rows.map(cells) };
}

const markers = (name: string): [string, string] => [`<!-- generated:${name} -->`, `<!-- /generated:${name} -->`];

/** What is between a generated section's markers; undefined when the document has no such section. */
export function generatedSection(markdown: string, name: string): string | undefined {
  const [start, end] = markers(name);
  const from = markdown.indexOf(start);
  const to = markdown.indexOf(end);
  if (from === -1 || to < from) return undefined;
  return markdown.slice(from + start.length, to).trim();
}

export function replaceGeneratedSection(markdown: string, name: string, content: string): string {
  const [start, end] = markers(name);
  const from = markdown.indexOf(start);
  const to = markdown.indexOf(end);
  if (from === -1 || to < from) throw new Error(`no section ${start} … ${end}`);
  return `${markdown.slice(0, from + start.length)}\n${content}\n${markdown.slice(to)}`;
}

export interface CodeBlock {
  /** The line of the opening fence, 1-based. */
  line: number;
  code: string;
}

/** Every block fenced as ```` ```lang ````, in order. */
export function fencedBlocks(markdown: string, lang: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let index = 0; index < lines.length; index++) {
    if (lines[index]?.trim() !== `\`\`\`${lang}`) continue;
    const end = lines.findIndex((line, at) => at > index && line.trim() === '```');
    if (end === -1) throw new Error(`the \`\`\`${lang} block at line ${index + 1} is not closed`);
    blocks.push({ line: index + 1, code: lines.slice(index + 1, end).join('\n') });
    index = end;
  }
  return blocks;
}
