import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ITEM_FIELD } from './item-line.js';
import { createLogger, logSettings, type LoggerOptions } from './logging.js';

describe('logSettings', () => {
  it('writes readable lines in colour on a terminal, and JSON lines anywhere else', () => {
    expect(logSettings({}, true, 'info')).toEqual({ level: 'info', format: 'pretty', color: true });
    expect(logSettings({}, false, 'info')).toEqual({ level: 'info', format: 'json', color: false });
  });

  it('takes LOG_FORMAT over the guess, in any case: json on a terminal, pretty (without colour) in a pipe', () => {
    expect(logSettings({ LOG_FORMAT: 'json' }, true, 'info')).toEqual({ level: 'info', format: 'json', color: false });
    expect(logSettings({ LOG_FORMAT: ' Pretty ' }, false, 'info')).toEqual({ level: 'info', format: 'pretty', color: false });
    expect(logSettings({ LOG_FORMAT: 'pretty' }, true, 'info')).toEqual({ level: 'info', format: 'pretty', color: true });
    expect(logSettings({ LOG_FORMAT: '' }, true, 'info')).toMatchObject({ format: 'pretty' });
  });

  it('never colours with NO_COLOR set to anything but the empty string', () => {
    expect(logSettings({ NO_COLOR: '1' }, true, 'info')).toEqual({ level: 'info', format: 'pretty', color: false });
    expect(logSettings({ NO_COLOR: '' }, true, 'info')).toMatchObject({ color: true });
  });

  it('takes LOG_LEVEL, else the command\'s own default', () => {
    expect(logSettings({ LOG_LEVEL: 'debug' }, false, 'info')).toMatchObject({ level: 'debug' });
    expect(logSettings({ LOG_LEVEL: ' ' }, false, 'warn')).toMatchObject({ level: 'warn' });
    expect(logSettings({ LOG_LEVEL: 'silent' }, false, 'info')).toMatchObject({ level: 'silent' });
  });

  it('says what it takes instead of a value it does not know', () => {
    expect(logSettings({ LOG_FORMAT: 'xml' }, true, 'info')).toEqual({ error: 'LOG_FORMAT must be one of pretty, json, not "xml"' });
    expect(logSettings({ LOG_LEVEL: 'loud' }, true, 'info')).toEqual({ error: 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, not "loud"' });
  });
});

describe('createLogger', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** What a logger with these options writes for `use`, read back from its file at once (it writes synchronously). */
  function written(options: Partial<LoggerOptions>, use: (log: ReturnType<typeof createLogger>) => void): string {
    dir = mkdtempSync(join(tmpdir(), 'livewall-logging-'));
    const file = join(dir, 'log');
    const fd = openSync(file, 'w');
    try {
      use(createLogger({ name: 'livewall-test', level: 'info', format: 'pretty', color: false, fd, ...options }));
      return readFileSync(file, 'utf8');
    } finally {
      closeSync(fd);
    }
  }

  it('writes a readable line per record: time, level, message and its fields, without colour when told so', () => {
    const text = written({}, (log) => {
      log.info({ route: 'feed:cats', state: 'started' }, 'route feed:cats started');
      log.debug('not at info');
      log.warn('no fields');
    });
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: route feed:cats started \{"route":"feed:cats","state":"started"\}\n\[\d\d:\d\d:\d\d\.\d{3}\] WARN: no fields\n$/);
    expect(text).not.toContain('\u001b[');
  });

  it('colours when told so, and leaves the fields out for a command whose messages say it all', () => {
    expect(written({ color: true }, (log) => log.warn('careful'))).toContain('\u001b[');
    expect(written({ fields: false }, (log) => log.info({ broker: 'localhost:61613' }, 'connecting'))).toMatch(/^\[[\d:.]+\] INFO: connecting\n$/);
  });

  it('shows a record that holds a feed item as just its message', () => {
    const text = written({}, (log) => log.info({ route: 'feed:cats', [ITEM_FIELD]: { id: 'x:1' } }, '/topic/feed.cats  12:00:00  @cat  [1 image]  hello'));
    expect(text).toBe('/topic/feed.cats  12:00:00  @cat  [1 image]  hello\n');
  });

  it('writes JSON lines, the item whole, with format json', () => {
    const text = written({ format: 'json' }, (log) => log.info({ [ITEM_FIELD]: { id: 'x:1' } }, 'line'));
    expect(JSON.parse(text)).toMatchObject({ level: 30, name: 'livewall-test', item: { id: 'x:1' }, msg: 'line' });
  });
});
