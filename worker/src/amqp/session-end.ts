import type { Connection, EventContext } from 'rhea';

/** rhea's connection as it is at run time: `abort_socket` is not in its typings. */
interface Abortable {
  socket?: unknown;
  abort_socket?(socket: unknown): void;
}

/**
 * A session the broker ends on its own takes its links, and their unsettled deliveries, with it. RabbitMQ 3.10 does
 * this with `amqp:internal-error` when the channel behind the session crashes — for one, when a quorum queue bound to
 * the feed is deleted while a message is routed to it, which any anonymous visitor can set up by subscribing with
 * `x-queue-type: quorum` (rabbitmq-server #3627, #15333). Without a listener rhea throws the error out of the
 * process. Here it ends the connection instead, so that the client's own path for a lost connection — reconnect,
 * send again what was not settled, open the links again — takes over: nothing is lost, nothing crashes.
 *
 * `ended` is called first, with the broker's reason, unless the session was closed from this side (or the client is
 * closing: `closing()`).
 */
export function restartOnSessionEnd(connection: Connection, closing: () => boolean, ended: (reason: string) => void): void {
  // rhea reports one end twice (session_error, then session_close).
  const seen = new WeakSet<object>();
  const onEnd = (context: EventContext): void => {
    const session = context.session;
    if (!session || seen.has(session)) return;
    seen.add(session);
    if (closing() || session.is_itself_closed()) return;
    const error = session.error as { condition?: string; description?: string } | undefined;
    ended(error ? `${error.condition ?? 'error'}: ${firstLine(error.description ?? '')}` : 'the broker ended the session');
    // Not from inside rhea's frame loop: once it is done with this frame.
    setImmediate(() => {
      const raw = connection as unknown as Abortable;
      if (!closing()) raw.abort_socket?.(raw.socket);
    });
  };
  connection.on('session_error', onEnd);
  connection.on('session_close', onEnd);
}

/** RabbitMQ puts a whole Erlang crash report in the description: its first line is enough for a log. */
function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
