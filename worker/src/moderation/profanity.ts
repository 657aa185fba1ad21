import { englishDataset, englishRecommendedTransformers, RegExpMatcher, SyntaxKind, type LiteralNode, type Node, type ParsedPattern, type StatefulTransformer } from 'obscenity';

/**
 * obscenity's English profanity filter, deciding exactly as its `RegExpMatcher.hasMatch` with the English dataset and
 * recommended transformers, at a small fraction of the cost for a text that holds no profanity (nearly every text).
 *
 * obscenity transforms a text character by character (look-alikes, leet speak, lower case, runs of a letter
 * collapsed), runs each of its ~120 patterns over the result as a regular expression of its own, and checks each
 * match against the dataset's whitelist (`assassin`, `Scunthorpe`). Here:
 * 1. the same transformed text, made in one tight loop: each character's mapping read from a table that obscenity's
 *    own character transformers fill (once per character, on first sight), and runs cut to the length that its own
 *    duplicate transformer keeps (asked of it once per character);
 * 2. one pass of an Aho–Corasick automaton over it finds the patterns that can match: every match of a pattern
 *    contains a plain run of letters known beforehand — for each way of taking its optional parts (`s[s]e[e]x`: `sex`,
 *    `ssex`, `seex`, `sseex`), the longest run between its wildcards;
 * 3. only those patterns run, each compiled as obscenity compiles it;
 * 4. only when one of them matches does obscenity itself decide, whitelist and all.
 * Steps 2 and 3 say "no" only where obscenity would: profanity.test.ts checks it against obscenity on texts made of
 * the dataset's words dressed up in every way the transformers undo, and on random text.
 */
export class ProfanityFilter {
  private readonly matcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
  /** Each pattern, compiled as obscenity compiles it. */
  private readonly patterns: RegExp[];
  private readonly literals: Literals;
  /** The character transformers (look-alikes, leet speak, lower case), whose outputs the tables keep. */
  private readonly mappers: ((char: number) => number | undefined)[] = [];
  /** The duplicate collapser: the preset's last transformer. */
  private readonly collapser: StatefulTransformer | undefined;
  /** False if the preset's transformers were not of the shape modelled here: obscenity alone decides then. */
  private readonly fast: boolean = true;
  /** Each BMP character's mapping (UNKNOWN: not asked yet; DROPPED: a transformer removes it). */
  private readonly bmp = new Int32Array(0x10000).fill(UNKNOWN);
  private readonly astral = new Map<number, number>();
  /** How many characters of a run of each the collapser keeps, BMP ones also in a table (UNKNOWN: not asked yet). */
  private readonly runLimits = new Map<number, number>();
  private readonly bmpRunLimits = new Int32Array(0x10000).fill(UNKNOWN);
  private buffer = new Uint16Array(1024);

  constructor() {
    // Stateless transformers, then at most one stateful one (the collapser): the English preset's shape.
    for (const transformer of englishRecommendedTransformers.blacklistMatcherTransformers ?? []) {
      if (this.collapser !== undefined) this.fast = false;
      else if ('factory' in transformer) this.collapser = transformer.factory();
      else this.mappers.push(transformer.transform);
    }
    const terms = englishDataset.build().blacklistedTerms.map((term) => term.pattern);
    this.patterns = terms.map((pattern) => new RegExp(patternSource(pattern), 's'));
    this.literals = new Literals(terms.map(requiredLiterals));
  }

  /** Whether obscenity finds profanity in the text (outside its whitelist). */
  hasMatch(text: string): boolean {
    if (!this.fast) return this.matcher.hasMatch(text);
    const length = this.transform(text);
    // The transformed text as a string only once a pattern may match.
    let transformed: string | undefined;
    const matches = (term: number) => (this.patterns[term] as RegExp).test((transformed ??= this.stringOf(length)));
    return this.literals.some(this.buffer, length, matches) && this.matcher.hasMatch(text);
  }

  /** The text as obscenity's blacklist transformers make it (RegExpMatcher's applyTransformers, without the index map). */
  transformed(text: string): string {
    return this.stringOf(this.transform(text));
  }

  /** Transforms the text into the buffer (UTF-16 code units); returns how many. */
  private transform(text: string): number {
    if (this.buffer.length < text.length * 2) this.buffer = new Uint16Array(text.length * 2);
    const { buffer, bmp, bmpRunLimits } = this;
    const collapse = this.collapser !== undefined;
    let length = 0;
    let last = -1;
    let kept = 0;
    let limit = 0;
    for (let at = 0; at < text.length; ) {
      const codePoint = text.codePointAt(at) as number;
      let char: number;
      if (codePoint < 0x10000) {
        at++;
        char = bmp[codePoint] as number;
        if (char === UNKNOWN) char = bmp[codePoint] = this.map(codePoint);
      } else {
        at += 2;
        char = this.astral.get(codePoint) ?? this.astral.set(codePoint, this.map(codePoint)).get(codePoint) as number;
      }
      if (char === DROPPED) continue;
      if (collapse) {
        if (char !== last) {
          last = char;
          kept = 0;
          limit = char < 0x10000 ? (bmpRunLimits[char] as number) : UNKNOWN;
          if (limit === UNKNOWN) limit = this.runLimit(char);
        }
        if (kept >= limit) continue;
        kept++;
      }
      if (char > 0xffff) {
        buffer[length++] = 0xd800 + ((char - 0x10000) >> 10);
        buffer[length++] = 0xdc00 + ((char - 0x10000) & 0x3ff);
      } else buffer[length++] = char;
    }
    return length;
  }

  private stringOf(length: number): string {
    let out = '';
    for (let from = 0; from < length; from += CHUNK) out += String.fromCharCode.apply(null, this.buffer.subarray(from, Math.min(length, from + CHUNK)) as unknown as number[]);
    return out;
  }

  private map(codePoint: number): number {
    let char: number | undefined = codePoint;
    for (const mapper of this.mappers) {
      char = mapper(char);
      if (char === undefined) return DROPPED;
    }
    return char;
  }

  /**
   * How many of a run of `char` the collapser keeps: `char` fed to it after a reset until it drops one (a collapser
   * drops the rest of the run from then on); ALL when it kept PROBE of them.
   */
  private runLimit(char: number): number {
    let limit = this.runLimits.get(char);
    if (limit === undefined) {
      const collapser = this.collapser as StatefulTransformer;
      collapser.reset();
      limit = 0;
      while (limit < PROBE && collapser.transform(char) !== undefined) limit++;
      collapser.reset();
      if (limit === PROBE) limit = ALL;
      this.runLimits.set(char, limit);
      if (char < 0x10000) this.bmpRunLimits[char] = limit;
    }
    return limit;
  }
}

const UNKNOWN = -1;
const DROPPED = -2;
/** A collapser that keeps this many of a run is taken to keep all of it (the English preset keeps 1 or 2). */
const PROBE = 1024;
/** Longer than any string. */
const ALL = 0x7fffffff;
/** Characters per String.fromCharCode call (its arguments go on the stack). */
const CHUNK = 4096;
/** A pattern with more optional parts than this gets its literals from between all of them instead of from each way of taking them. */
const MAX_OPTIONALS = 10;

/**
 * Aho–Corasick over UTF-16 code units: `some(text, length, test)` calls `test` with each term one of whose literals
 * occurs in the first `length` code units of `text` (a term with an empty literal: always), until `test` says true.
 */
class Literals {
  /** Each code unit's letter in the automaton's alphabet; 0 for a code unit no literal has. */
  private readonly symbols = new Uint16Array(0x10000);
  private readonly width: number;
  /** The complete transition table: state × symbol → state. */
  private readonly next: Int32Array;
  /** The terms each state completes a literal of (also through its suffixes); undefined for none. */
  private readonly ends: (number[] | undefined)[] = [];
  private readonly always: number[] = [];

  constructor(literalsOfTerm: string[][]) {
    let alphabet = 0;
    for (const literals of literalsOfTerm) for (const literal of literals) for (let at = 0; at < literal.length; at++) this.symbols[literal.charCodeAt(at)] ||= ++alphabet;
    this.width = alphabet + 1;
    // The trie.
    const trie: number[] = new Array<number>(this.width).fill(-1);
    const ends: Set<number>[] = [new Set()];
    literalsOfTerm.forEach((literals, term) => {
      for (const literal of literals) {
        if (literal === '') {
          if (!this.always.includes(term)) this.always.push(term);
          continue;
        }
        let state = 0;
        for (let at = 0; at < literal.length; at++) {
          const slot = state * this.width + (this.symbols[literal.charCodeAt(at)] as number);
          if (trie[slot] === -1) {
            trie[slot] = ends.length;
            ends.push(new Set());
            trie.push(...new Array<number>(this.width).fill(-1));
          }
          state = trie[slot] as number;
        }
        (ends[state] as Set<number>).add(term);
      }
    });
    // Failure links, breadth first, folded into a complete table; each state takes on the ends of its failure state.
    const fail = new Array<number>(ends.length).fill(0);
    const queue: number[] = [];
    for (let symbol = 0; symbol < this.width; symbol++) {
      const child = trie[symbol] as number;
      if (child === -1) trie[symbol] = 0;
      else queue.push(child);
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head] as number;
      for (const term of ends[fail[state] as number] as Set<number>) (ends[state] as Set<number>).add(term);
      for (let symbol = 0; symbol < this.width; symbol++) {
        const slot = state * this.width + symbol;
        const viaFailure = trie[(fail[state] as number) * this.width + symbol] as number;
        const child = trie[slot] as number;
        if (child === -1 || symbol === 0) trie[slot] = symbol === 0 ? 0 : viaFailure;
        else {
          fail[child] = viaFailure;
          queue.push(child);
        }
      }
    }
    this.next = Int32Array.from(trie);
    this.ends = ends.map((terms) => (terms.size > 0 ? [...terms] : undefined));
  }

  some(text: Uint16Array, length: number, test: (term: number) => boolean): boolean {
    for (const term of this.always) if (test(term)) return true;
    const { next, symbols, width, ends } = this;
    let state = 0;
    for (let at = 0; at < length; at++) {
      state = next[state * width + (symbols[text[at] as number] as number)] as number;
      const terms = ends[state];
      if (terms !== undefined) for (const term of terms) if (test(term)) return true;
    }
    return false;
  }
}

const SPECIAL = new Set('[.*+?^${}()|\\]'.split('').map((char) => char.charCodeAt(0)));

function literalSource(node: LiteralNode): string {
  return node.chars.map((char) => (SPECIAL.has(char) ? '\\' : '') + String.fromCodePoint(char)).join('');
}

function nodeSource(node: Node): string {
  switch (node.kind) {
    case SyntaxKind.Literal:
      return literalSource(node);
    case SyntaxKind.Optional:
      return `(?:${nodeSource(node.childNode)})?`;
    case SyntaxKind.Wildcard:
      return '.';
  }
}

/** A pattern as obscenity compiles it (compilePatternToRegExp): `\b` for `|`, `(?:…)?` for `[…]`, `.` for `?`. */
function patternSource(pattern: ParsedPattern): string {
  return `${pattern.requireWordBoundaryAtStart ? '\\b' : ''}${pattern.nodes.map(nodeSource).join('')}${pattern.requireWordBoundaryAtEnd ? '\\b' : ''}`;
}

/**
 * Plain strings of which every match of the pattern contains one: for each way of taking its optional parts (with
 * or without each), the longest run of literal characters between wildcards. '' when a way has none.
 */
function requiredLiterals(pattern: ParsedPattern): string[] {
  const expand = pattern.nodes.filter((node) => node.kind === SyntaxKind.Optional).length <= MAX_OPTIONALS;
  // Each way so far, as its runs of literal characters (the last one still growing).
  let ways: string[][] = [['']];
  const add = (runs: string[], node: LiteralNode | { kind: SyntaxKind.Wildcard }): string[] =>
    node.kind === SyntaxKind.Literal ? [...runs.slice(0, -1), `${runs[runs.length - 1] as string}${String.fromCodePoint(...node.chars)}`] : [...runs, ''];
  for (const node of pattern.nodes) {
    if (node.kind === SyntaxKind.Optional) ways = expand ? ways.flatMap((runs) => [runs, add(runs, node.childNode)]) : ways.map((runs) => [...runs, '']);
    else ways = ways.map((runs) => add(runs, node));
  }
  return [...new Set(ways.map((runs) => runs.reduce((longest, run) => (run.length > longest.length ? run : longest), '')))];
}
