/** Artemis's management API over AMQP, as admin (scripts/artemis-management.mjs). */
export interface ManagementClient {
  /** An operation (`op`) or an attribute (`attribute`) of a resource: `broker`, `address.NAME`, `queue.NAME`. */
  call(resource: string, request: { op?: string; attribute?: string; args?: unknown[] }): Promise<unknown>;
  /** Resolves once the connection and its reply queue are open. */
  ready: Promise<unknown>;
  close(): void;
}

export function managementClient(options: { host: string; port: number; password: string }): ManagementClient;
