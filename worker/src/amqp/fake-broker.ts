/**
 * An AMQP 1.0 broker just big enough for unit tests of the publisher and the amqp: component: rhea's own container
 * on a free port, taking anonymous logins and every sender's link, and settling each message it receives with the
 * outcome the test picks (accepted unless told otherwise), so that the outcomes a real broker gives rarely can be
 * had at will.
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import rhea, { type EventContext } from 'rhea';
import type { Outcome } from './publisher.js';

export interface Received {
  address: string;
  id: string;
}

export class FakeAmqpBroker {
  /** Every message received, in order, resends included. */
  readonly received: Received[] = [];
  /**
   * The outcome for a message; `attempt` counts from 1 across its resends. Default: accepted. `end-session` settles
   * nothing and ends the receiving session with amqp:internal-error, as RabbitMQ 3.10 does when the channel behind
   * it crashes.
   */
  outcome: (message: Received, attempt: number) => Outcome | 'end-session' = () => 'accepted';
  private readonly attempts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private server?: Server;

  listen(): Promise<number> {
    const container = rhea.create_container({ id: 'fake-broker' });
    container.sasl_server_mechanisms.enable_anonymous();
    container.on('message', (context: EventContext) => this.onMessage(context));
    const server = container.listen({ port: 0, host: '127.0.0.1', autoaccept: false } as never) as Server;
    this.server = server;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return new Promise((resolve) => server.on('listening', () => resolve((server.address() as AddressInfo).port)));
  }

  /** Drops every connection at once; the publisher reconnects. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private onMessage(context: EventContext): void {
    const { delivery, message, receiver } = context;
    if (!delivery || !message || !receiver) return;
    // A session this side ended takes nothing more: what the client sent on it meanwhile is lost, as with a crash.
    if (!receiver.session.is_open()) return;
    const { remote } = receiver as unknown as { remote: { attach?: { target?: { address?: string } } } };
    const received = { address: String(remote.attach?.target?.address), id: String(message.message_id) };
    this.received.push(received);
    const attempt = (this.attempts.get(received.id) ?? 0) + 1;
    this.attempts.set(received.id, attempt);
    const outcome = this.outcome(received, attempt);
    if (outcome === 'end-session') receiver.session.close({ condition: 'amqp:internal-error', description: '{{case_clause,{error,{{shutdown,delete},…}}}}\n[{rabbit_channel,deliver_to_queues,2,…}]' });
    else if (outcome === 'accepted') delivery.accept();
    else if (outcome === 'released') delivery.release();
    else if (outcome === 'modified') delivery.modified({ delivery_failed: true });
    else delivery.reject({ condition: 'amqp:resource-limit-exceeded', description: `address ${received.address} is full` });
  }
}
