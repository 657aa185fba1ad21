import type { Exchange, Logger, Producer } from '../../engine/types.js';
import { ITEM_FIELD, prettyItem } from '../../item-line.js';
import type { LogOptions } from './options.js';
import { redactHeaders } from './redact.js';

/**
 * Writes one structured line per exchange instead of sending it anywhere: what `--dry-run` puts in place of a
 * broker endpoint, so an operator sees what would have been published.
 */
export class LogProducer implements Producer {
  constructor(
    /** The logger name, the URI's path: the line's message. */
    private readonly name: string,
    private readonly options: LogOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {}

  async send(exchange: Exchange): Promise<void> {
    const line: Record<string, unknown> = { exchangeId: exchange.id, headers: redactHeaders(exchange.headers) };
    if (this.options.format === 'item') {
      if (this.options.showBody) line[ITEM_FIELD] = exchange.body;
      this.log[this.options.level](line, `${this.name}  ${prettyItem(exchange.body)}`);
      return;
    }
    if (this.options.showBody) {
      const json = bodyJson(exchange.body);
      line.body = json.length > this.options.maxChars ? json.slice(0, this.options.maxChars) : json;
      if (json.length > this.options.maxChars) line.bodyChars = json.length;
    }
    this.log[this.options.level](line, this.name);
  }

  ready(): boolean {
    return true;
  }

  async stop(): Promise<number> {
    return 0;
  }
}

/** The body as JSON text; a body JSON cannot express is described rather than failing the exchange. */
function bodyJson(body: unknown): string {
  try {
    return JSON.stringify(body) ?? `[${typeof body}]`;
  } catch (error) {
    return `[not JSON: ${error instanceof Error ? error.message : String(error)}]`;
  }
}
