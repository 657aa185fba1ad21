import rhea, { type EventContext } from 'rhea';

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
    const connection = rhea.create_container().connect({ ...login, reconnect: false });
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
    const connection = rhea.create_container().connect({ ...login, reconnect: false });
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
