// Artemis's management API over AMQP, as admin: requests to activemq.management, each answered on a temporary queue
// of this connection. Used by scripts/broker-repair.mjs and the tests that look inside a broker.
import rhea from 'rhea';

/**
 * One management connection. `call(resource, { op | attribute, args })` resolves with the operation's result or the
 * attribute's value; it rejects with the broker's message when the broker says it failed.
 */
export function managementClient({ host, port, password }) {
  const connection = rhea.create_container().connect({ host, port, username: 'admin', password, reconnect: false });
  const pending = new Map();
  let next = 0;
  let failure;
  const failAll = (error) => {
    failure = error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  const ready = new Promise((resolve, reject) => {
    const receiver = connection.open_receiver({ source: { dynamic: true } });
    receiver.once('receiver_open', (context) => {
      const sender = connection.open_sender('activemq.management');
      sender.once('sendable', () => resolve({ sender, replyTo: context.receiver.source.address }));
    });
    connection.once('connection_error', (context) => reject(new Error(`the broker refused admin: ${context.connection.error?.description ?? 'no reason given'}`)));
    connection.once('disconnected', (context) => {
      const error = new Error(`cannot reach the broker's AMQP port at ${host}:${port}: ${context.error?.message ?? 'disconnected'}`);
      reject(error);
      failAll(error);
    });
  });
  connection.on('message', (context) => {
    const request = pending.get(context.message.correlation_id);
    if (!request) return;
    pending.delete(context.message.correlation_id);
    const body = context.message.body;
    const text = typeof body === 'string' ? body : Buffer.from(body?.content ?? body ?? '').toString('utf8');
    // A void operation answers with an empty body.
    const value = text.trim() ? JSON.parse(text)?.[0] : undefined;
    if (context.message.application_properties?._AMQ_OperationSucceeded) request.resolve(value);
    else request.reject(new Error(`${request.what}: ${value}`));
  });
  /** An operation (`op`) or an attribute (`attribute`) of a management resource (`broker`, `address.X`, `queue.X`). */
  const call = async (resource, { op, attribute, args = [] }) => {
    if (failure) throw failure;
    const { sender, replyTo } = await ready;
    const id = `repair-${++next}`;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, what: `${resource} ${op ?? attribute}` });
      const properties = { _AMQ_ResourceName: resource, ...(op ? { _AMQ_OperationName: op } : { _AMQ_Attribute: attribute }) };
      sender.send({ message_id: id, reply_to: replyTo, application_properties: properties, body: JSON.stringify(args) });
    });
  };
  return { call, ready, close: () => connection.close() };
}
