import rhea, { type Connection, type EventContext } from 'rhea';

/**
 * A refused connection's second Close (RabbitMQ 3.10 sends one) is a protocol error to rhea, which prints it with a
 * hex dump when nobody listens; the tests look at the outcome instead.
 */
function quiet(connection: Connection): Connection {
  connection.on('protocol_error', () => undefined);
  return connection;
}

export interface AmqpLogin {
  host: string;
  port: number;
  username: string;
  password: string;
}

/**
 * How one attempt to send a message ended, as the broker answered it. Artemis refuses a sender it may not use with a
 * sender error; RabbitMQ 3.10 ends the whole session (then the connection) when a publish is not allowed.
 */
export type SendAttempt =
  | { result: 'accepted' }
  | { result: 'rejected' | 'sender-error' | 'session-error' | 'connection-error'; error: string };

/**
 * Makes a feed's address as its worker does when it starts: a publisher's sender attaches to the topic (Artemis
 * creates the address; viewers may not). Resolves once the broker has attached the link.
 */
export function declareTopic(login: AmqpLogin, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const connection = quiet(rhea.create_container().connect({ ...login, reconnect: false }));
    const sender = connection.open_sender({ target: { address } });
    sender.once('sendable', () => {
      connection.close();
      resolve();
    });
    connection.once('sender_error', (context: EventContext) => reject(new Error(`cannot attach a sender to ${address}: ${String((context.sender?.error as { description?: string } | undefined)?.description ?? 'refused')}`)));
    connection.once('connection_error', (context: EventContext) => reject(new Error(`cannot declare ${address}: ${String(context.connection.error ?? 'refused')}`)));
    connection.once('disconnected', (context: EventContext) => reject(new Error(`cannot declare ${address}: ${String(context.error ?? 'disconnected')}`)));
  });
}

/** Opens a connection and a sender, sends one message, and reports what the broker said. No reconnect. */
export function sendOnce(login: AmqpLogin, address: string, body: string): Promise<SendAttempt> {
  return new Promise((resolve) => {
    const connection = quiet(rhea.create_container().connect({ ...login, reconnect: false }));
    const done = (attempt: SendAttempt): void => {
      resolve(attempt);
      connection.close();
    };
    const describe = (error: unknown): string => {
      const { condition, description } = (error ?? {}) as { condition?: string; description?: string };
      return [condition, description].filter(Boolean).join(': ') || 'no reason given';
    };
    const sender = connection.open_sender({ target: { address } });
    sender.once('sendable', () => {
      sender.send({ message_id: `probe-${Date.now()}`, content_type: 'application/json', body: rhea.message.data_section(Buffer.from(body)) });
    });
    connection.on('accepted', () => done({ result: 'accepted' }));
    connection.on('rejected', (context: EventContext) => done({ result: 'rejected', error: describe((context.delivery?.remote_state as { error?: unknown })?.error) }));
    connection.on('sender_error', (context: EventContext) => done({ result: 'sender-error', error: describe(context.sender?.error) }));
    connection.on('session_error', (context: EventContext) => done({ result: 'session-error', error: describe(context.session?.error) }));
    connection.on('connection_error', (context: EventContext) => done({ result: 'connection-error', error: describe(context.connection.error) }));
    connection.on('disconnected', (context: EventContext) => done({ result: 'connection-error', error: String(context.error ?? 'disconnected') }));
  });
}

/** How a batch of sends ended: each outcome counted, and the first refusal's error (outcome or link/session/connection). */
export interface BatchOutcome {
  accepted: number;
  rejected: number;
  released: number;
  modified: number;
  /** Sent but never settled: the link, session or connection ended first. */
  unsettled: number;
  /** The first error the broker gave: a rejected outcome's, or how the link, session or connection ended. */
  error?: { on: 'delivery' | 'sender' | 'session' | 'connection'; condition: string };
}

/**
 * Sends `bodies` on one sender as fast as the broker's credit allows (as the worker pipelines), and resolves once every
 * message is settled or the link, session or connection ended. No reconnect.
 */
export function sendMany(login: AmqpLogin, address: string, bodies: string[]): Promise<BatchOutcome> {
  return new Promise((resolve) => {
    const outcome: BatchOutcome = { accepted: 0, rejected: 0, released: 0, modified: 0, unsettled: 0 };
    const connection = quiet(rhea.create_container().connect({ ...login, reconnect: false }));
    const describe = (error: unknown): string => {
      const { condition, description } = (error ?? {}) as { condition?: string; description?: string };
      return [condition, description].filter(Boolean).join(': ') || 'no reason given';
    };
    let sent = 0;
    let settled = 0;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      outcome.unsettled = sent - settled;
      connection.close();
      resolve(outcome);
    };
    const fail = (on: 'sender' | 'session' | 'connection', error: unknown): void => {
      outcome.error ??= { on, condition: describe(error) };
      finish();
    };
    const sender = connection.open_sender({ target: { address } });
    const pump = (): void => {
      while (sent < bodies.length && sender.sendable()) {
        sender.send({ message_id: `batch-${sent}`, durable: true, content_type: 'application/json', body: rhea.message.data_section(Buffer.from(bodies[sent] as string)) });
        sent += 1;
      }
    };
    sender.on('sendable', pump);
    const settle = (kind: 'accepted' | 'rejected' | 'released' | 'modified') => (context: EventContext) => {
      outcome[kind] += 1;
      settled += 1;
      if (kind !== 'accepted') outcome.error ??= { on: 'delivery', condition: describe((context.delivery?.remote_state as { error?: unknown } | undefined)?.error) };
      if (settled === bodies.length) finish();
    };
    connection.on('accepted', settle('accepted'));
    connection.on('rejected', settle('rejected'));
    connection.on('released', settle('released'));
    connection.on('modified', settle('modified'));
    connection.on('sender_error', (context: EventContext) => fail('sender', context.sender?.error));
    connection.on('session_error', (context: EventContext) => fail('session', context.session?.error));
    connection.on('connection_error', (context: EventContext) => fail('connection', context.connection.error));
    connection.on('disconnected', (context: EventContext) => fail('connection', context.error ?? 'disconnected'));
  });
}
